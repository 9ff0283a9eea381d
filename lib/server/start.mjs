// `npm start`: the production server built by `npm run build` (lib/server/build.ts), in
// production mode. Plain JavaScript, so that it runs without a TypeScript loader.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const bundle = path.resolve(".next/gatehouse/server.mjs"); // SERVER_BUNDLE in lib/server/build.ts
if (!fs.existsSync(bundle) || !fs.existsSync(path.resolve(".next/BUILD_ID"))) {
  console.error("\n  ✖ No production build here. Run `npm run build` first (or `npm run dev` for development).\n");
  process.exit(1);
}
process.env.NODE_ENV = "production";
await import(pathToFileURL(bundle).href);
