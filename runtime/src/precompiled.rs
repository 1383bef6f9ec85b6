//! Precompiled modules: [`Module::serialize`] writes a compiled module as
//! bytes (a `.cwasm` file), [`Module::deserialize`] and
//! [`Module::deserialize_file`] load one without compiling.
//!
//! The format (`trestle_compiler`'s `artifact` module) is a table of
//! checksummed sections. It records the Trestle version, the target, the
//! CPU features and the code-affecting settings of the compiling engine;
//! loading compares them with the loading engine's and refuses a module
//! compiled differently, naming the difference.
//!
//! Compiled code compares canonical type ids as immediates, so loading
//! gives the module's types the ids they had in the compiling engine
//! ([`Engine::claim_groups`]). In an engine that has not yet numbered
//! other types (load precompiled modules before defining host functions)
//! this always succeeds; otherwise it succeeds when the ids agree and is an
//! error when they do not.

use crate::vm::mmap::Mmap;
use crate::{Engine, Module};
use anyhow::{Context as _, Result};
use std::path::Path;

impl Module {
    /// Writes this module, compiled, as bytes that
    /// [`Module::deserialize`] loads without compiling (by convention in a
    /// `.cwasm` file).
    ///
    /// ```
    /// let engine = trestle::Engine::default();
    /// let module = trestle::Module::new(&engine, r#"(module (func (export "f")))"#)?;
    /// let bytes = module.serialize()?;
    /// // SAFETY: the bytes were just written by `serialize`.
    /// let loaded = unsafe { trestle::Module::deserialize(&engine, &bytes)? };
    /// assert_eq!(loaded.exports().next().unwrap().name(), "f");
    /// # Ok::<(), trestle::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// None at present; the `Result` leaves room for formats that can fail.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        let compiler = &self.engine().inner.compiler;
        Ok(compiler.serialize_module(&self.artifact()))
    }

    /// Loads a module that [`Module::serialize`] wrote, without compiling
    /// it.
    ///
    /// # Safety
    ///
    /// The bytes are trusted to be what `serialize` wrote: the machine code
    /// in them runs as it is. The format's checks (magic bytes, version,
    /// target, CPU features, settings, section bounds and checksums) catch
    /// truncation, accidental corruption and a mismatched engine, but not a
    /// file crafted to pass them; never load bytes from an untrusted source.
    ///
    /// # Errors
    ///
    /// When the bytes are not a precompiled module, are truncated or
    /// corrupted, were written by another Trestle version or for another
    /// target, CPU feature set or code-affecting [`crate::Config`] setting
    /// (the message names what differs), or when the module's type ids
    /// conflict with those `engine` already gave (see the module
    /// documentation).
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let artifact = engine.inner.compiler.deserialize_module(bytes.as_ref())?;
        engine.claim_groups(&artifact.type_groups)?;
        Module::from_artifact(engine, artifact)
    }

    /// [`Module::deserialize`] of the contents of the file at `path`, which
    /// is mapped into memory rather than read.
    ///
    /// # Safety
    ///
    /// As for [`Module::deserialize`]; moreover the file must not change
    /// while it is loaded.
    ///
    /// # Errors
    ///
    /// When the file cannot be opened or mapped, and as for
    /// [`Module::deserialize`].
    pub unsafe fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let (map, len) =
            Mmap::map_file(&file).with_context(|| format!("cannot map {}", path.display()))?;
        let bytes: &[u8] = if len == 0 {
            &[]
        } else {
            // SAFETY: the mapping is readable, covers the file's `len`
            // bytes, and outlives this borrow; the caller promises the file
            // does not change meanwhile.
            unsafe { std::slice::from_raw_parts(map.as_ptr(), len) }
        };
        // SAFETY: the caller's promise about the file's contents.
        unsafe { Module::deserialize(engine, bytes) }
            .with_context(|| format!("cannot load {}", path.display()))
    }

    /// Whether `bytes` start like a precompiled module (a `.cwasm` file)
    /// rather than a WebAssembly binary or text.
    pub fn is_precompiled(bytes: &[u8]) -> bool {
        bytes.starts_with(&trestle_compiler::MAGIC)
    }
}
