// Fixes to @vercel/cosmosdb-server 1.0.1 and its query engine, so that they answer as Cosmos DB does. Each fix
// fails the install loudly if the package changed so that it no longer applies.
//
// 1. A point read of a missing item answers HTTP 500 (it reads a property of undefined); Cosmos DB answers 404.
// 2. An ORDER BY on several properties is served only by a composite index in exactly its directions; Cosmos DB
//    also serves it from a composite index in exactly the opposite directions (ORDER BY a DESC, b DESC from
//    (a ASC, b ASC)), so an indexing policy lists each composite index once.
const fs = require("fs");
const path = require("path");

function patch(file, replacements) {
  let source = fs.readFileSync(file, "utf8");
  for (const [broken, fixed] of replacements) {
    if (source.includes(fixed)) {
      continue;
    }
    if (!source.includes(broken)) {
      throw new Error(`cannot patch ${file}: the expected text is not there: ${broken}`);
    }
    source = source.replace(broken, fixed);
  }
  fs.writeFileSync(file, source);
}

const modules = path.join(__dirname, "..", "node_modules");
patch(path.join(modules, "@vercel", "cosmosdb-server", "lib", "handler", "read-document.js"), [
  ["if (data[path] !== clientKeys[i])", "if (!data || data[path] !== clientKeys[i])"],
]);
patch(path.join(modules, "@zeit", "cosmosdb-query", "lib", "helpers.js"), [
  [
    "const found = compositeIndexes.some(indexes => {",
    "const found = [false, true].some(reversed => compositeIndexes.some(indexes => {",
  ],
  ['const order = desc ? "descending" : "ascending";', 'const order = desc !== reversed ? "descending" : "ascending";'],
  ["            });\n        });\n        if (!found) {", "            });\n        }));\n        if (!found) {"],
]);
