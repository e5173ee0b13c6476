// Two fixes to Azurite 3.37.0's blob store. Like patch-cosmosdb-server.js, each fails the install loudly if the
// package changed so that it no longer applies, and applying it twice changes nothing.
//
// 1. Its garbage collector deletes the content of live blobs. Every 10 minutes (and at each start) the collector
// lists every blob to learn which extent files are still referenced, and deletes the rest. Its listing
// (LokiBlobMetadataStore.listAllBlobs) pages 5,000 blobs at a time by blob *name* alone: the next page starts
// after the last name seen, so every blob in another container with that same name is skipped. With Azure
// Quantum's layout (every job's container holds `inputData` and `rawOutputData`) that is thousands of live blobs
// once a store holds more than 2,500 jobs; their extents are deleted and reading them answers 500 ever after
// (Azure/Azurite#709 reports the symptom). The collector now lists every blob in one page; the listing holds
// references to documents Azurite already keeps in memory. tests/integration/test_azurite_gc.py runs the
// collector's listing against 12,000 such blobs.
//
// 2. Finding one blob costs a scan of every blob of that name. Azurite's blob queries ({name, accountName,
// containerName, snapshot}, or accountName first) reach LokiJS, which uses the index of the query's first field
// only and filters the rest one document at a time: with every job's blob named `inputData` or
// `rawOutputData`, each read or write of a blob examined half the store (10,000 documents at 10,000 jobs, about
// 7 ms at 50,000), and the service slowed as jobs accumulated. LokiJS now takes a query's `containerName` first
// (an $and is the same set in any order): a job's container holds a few blobs. The same test file counts the
// documents examined for one lookup.
const fs = require("fs");
const path = require("path");

const modules = path.join(__dirname, "..", "node_modules");

function patch(file, broken, fixed) {
  const source = fs.readFileSync(file, "utf8");
  if (source.includes(fixed)) {
    return;
  }
  if (!source.includes(broken)) {
    throw new Error(`cannot patch ${file}: the expected text is not there: ${broken}`);
  }
  fs.writeFileSync(file, source.replace(broken, fixed));
}

patch(
  path.join(modules, "azurite", "dist", "src", "blob", "persistence", "BlobReferredExtentsAsyncIterator.js"),
  "this.blobMetadataStore.listAllBlobs(undefined, this.blobListingMarker,",
  "this.blobMetadataStore.listAllBlobs(Number.MAX_SAFE_INTEGER - 1, this.blobListingMarker,",
);

patch(
  path.join(modules, "lokijs", "src", "lokijs.js"),
  "        if (filters.length > 1) {\n          return this.find({ '$and': filters }, firstOnly);",
  "        if (filters.length > 1) {\n"
    + "          // scripts/patch-azurite.js: the container first, whose index narrows Azurite's blob queries to a few\n"
    + "          filters.sort(function (a, b) { return ('containerName' in b) - ('containerName' in a); });\n"
    + "          return this.find({ '$and': filters }, firstOnly);",
);
