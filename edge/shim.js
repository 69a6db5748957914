//! The worker's entry module: a WorkerEntrypoint whose handlers call the Rust worker's exports.
// `cargo xtask` bundles it with wasm-bindgen's glue (esbuild) into edge/build/index.js.
import { WorkerEntrypoint } from "cloudflare:workers";
import * as glue from "./index.js";

// A panic aborts the wasm instance (panic = "abort"), and the worker crate's panic hook marks the
// shared state critical. The instance's memory can no longer be trusted, so the next request gets a
// fresh instance (wasm-bindgen's reset function) instead of every later request failing.
const state = glue.__worker_init_state();

function fresh() {
  if (state.criticalError) {
    console.log("replacing the wasm instance after a trap");
    glue.__wbg_reset_state();
    state.criticalError = false;
  }
}

async function call(handler, arg, env, ctx) {
  fresh();
  try {
    return await handler(arg, env, ctx);
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) state.criticalError = true;
    throw e;
  }
}

export default class Shop extends WorkerEntrypoint {
  fetch(request) {
    return call(glue.fetch, request, this.env, this.ctx);
  }

  scheduled(controller) {
    return call(glue.scheduled, controller, this.env, this.ctx);
  }
}
