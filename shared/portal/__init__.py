"""The job management page: plain HTML, CSS and JavaScript served at /api/portal/ beside the API it calls."""
