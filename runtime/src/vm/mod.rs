//! The low-level machinery under the embedding API: memory mappings, linear
//! memories, executable code, trap handling and libcalls.

pub mod code_memory;
pub mod libcalls;
pub mod memory;
pub mod mmap;
pub(crate) mod table_buf;
pub mod traphandlers;
