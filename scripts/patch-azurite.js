// A fix to Azurite 3.37.0's blob garbage collector, which otherwise deletes the content of live blobs. Like
// patch-cosmosdb-server.js, it fails the install loudly if the package changed so that it no longer applies.
//
// Every 10 minutes (and at each start) the collector lists every blob to learn which extent files are still
// referenced, and deletes the rest. Its listing (LokiBlobMetadataStore.listAllBlobs) pages 5,000 blobs at a time
// by blob *name* alone: the next page starts after the last name seen, so every blob in another container with
// that same name is skipped. With Azure Quantum's layout (every job's container holds `inputData` and
// `rawOutputData`) that is thousands of live blobs once a store holds more than 2,500 jobs; their extents are
// deleted and reading them answers 500 ever after (Azure/Azurite#709 reports the symptom). The collector now lists
// every blob in one page; the listing holds references to documents Azurite already keeps in memory.
// tests/integration/test_azurite_gc.py runs the collector's listing against 12,000 such blobs.
const fs = require("fs");
const path = require("path");

const file = path.join(
  __dirname, "..", "node_modules", "azurite", "dist", "src", "blob", "persistence", "BlobReferredExtentsAsyncIterator.js",
);
const broken = "this.blobMetadataStore.listAllBlobs(undefined, this.blobListingMarker,";
const fixed = "this.blobMetadataStore.listAllBlobs(Number.MAX_SAFE_INTEGER - 1, this.blobListingMarker,";
let source = fs.readFileSync(file, "utf8");
if (!source.includes(fixed)) {
  if (!source.includes(broken)) {
    throw new Error(`cannot patch ${file}: the expected text is not there: ${broken}`);
  }
  fs.writeFileSync(file, source.replace(broken, fixed));
}
