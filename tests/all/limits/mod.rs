//! What bounds the work and the resources of untrusted wasm: the resource
//! limiter, declared sizes past the built-in limits, thousands of tables
//! and segments, recursion depth, fuel and epoch interruption, and the
//! metering of bulk operators. Each bound ends in a clean error or trap,
//! never a crash or a hang of the host, and the store goes on.

mod bulk_metering;
mod interruption;
mod limiter;
mod recursion;
mod resources;
