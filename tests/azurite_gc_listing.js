// What Azurite's blob garbage collector sees as referenced, for `total` blobs named as job blobs are (half
// `inputData`, half `rawOutputData`, each in a container of its own and on an extent of its own); prints JSON.
// Used by tests/integration/test_azurite_gc.py; node tests/azurite_gc_listing.js 12000
const path = require("path");
const root = path.join(__dirname, "..", "node_modules", "azurite", "dist", "src", "blob", "persistence");
const Store = require(path.join(root, "LokiBlobMetadataStore")).default;
const Referred = require(path.join(root, "BlobReferredExtentsAsyncIterator")).default;
(async () => {
  const store = new Store("gc-check.json", true);
  await store.init();
  const blobs = store.db.getCollection("$BLOBS_COLLECTION$");
  const total = Number(process.argv[2]);
  for (let i = 0; i < total; i++) {
    const name = i % 2 ? "rawOutputData" : "inputData";
    blobs.insert({ accountName: "devstoreaccount1", containerName: `job-${i}`, name, snapshot: "",
      isCommitted: true, properties: {}, persistency: { id: `extent-${i}`, offset: 0, count: 1 } });
  }
  const referred = new Set();
  const iterator = new Referred(store);
  for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
    step.value.forEach(id => referred.add(id));
  }
  console.log(JSON.stringify({ blobs: total, referred: referred.size }));
  await store.close();
})().catch(error => { console.error(error); process.exit(1); });
