// @vercel/cosmosdb-server 1.0.1 answers a point read of a missing item with HTTP 500 (it reads a property of
// undefined); Cosmos DB answers 404. This one-line fix makes it answer 404, and fails the install loudly if the
// package changed so that the fix no longer applies.
const fs = require("fs");
const path = require("path");

const file = path.join(__dirname, "..", "node_modules", "@vercel", "cosmosdb-server", "lib", "handler", "read-document.js");
const broken = "if (data[path] !== clientKeys[i])";
const fixed = "if (!data || data[path] !== clientKeys[i])";
const source = fs.readFileSync(file, "utf8");
if (!source.includes(fixed)) {
  if (!source.includes(broken)) {
    throw new Error(`cannot patch ${file}: the expected line is not there`);
  }
  fs.writeFileSync(file, source.replace(broken, fixed));
}
