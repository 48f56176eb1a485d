#!/usr/bin/env node
// Entry point: loads the polyfill and the TypeScript loader, then the CLI.
import "../node/polyfill.js";
import { register } from "tsx/esm/api";

register();
await import("../node/cli.ts");
