// How many blob documents Azurite's blob store examines to find one blob, in a store of `total` blobs named as job
// blobs are (half `inputData`, half `rawOutputData`, each job in a container of its own); prints JSON.
// Used by tests/integration/test_azurite_gc.py; node tests/azurite_blob_lookup.js 20000
const path = require("path");
const root = path.join(__dirname, "..", "node_modules", "azurite", "dist", "src", "blob", "persistence");
const Store = require(path.join(root, "LokiBlobMetadataStore")).default;
(async () => {
  const store = new Store("lookup-check.json", true);
  await store.init();
  const blobs = store.db.getCollection("$BLOBS_COLLECTION$");
  const total = Number(process.argv[2]);
  let examined = 0;
  for (let i = 0; i < total; i++) {
    const blob = { containerName: `job-${i >> 1}`, name: i % 2 ? "rawOutputData" : "inputData", snapshot: "",
      isCommitted: true, properties: {} };
    Object.defineProperty(blob, "accountName", { enumerable: true, get: () => { examined += 1; return "devstoreaccount1"; } });
    blobs.insert(blob);
  }
  blobs.findOne({ containerName: "job-0", name: "inputData" });  // the indexes are built once, before counting
  examined = 0;
  const found = await store.getBlob(undefined, "devstoreaccount1", `job-${total >> 2}`, "rawOutputData");
  console.log(JSON.stringify({ blobs: total, examined, found: found.containerName }));
  await store.close();
})().catch(error => { console.error(error); process.exit(1); });
