//! [`Module`]: a validated and compiled WebAssembly module, ready to be
//! instantiated any number of times in stores of its engine.

use crate::vm::code_memory::CodeMemory;
use crate::vm::retain::InstanceCache;
use crate::{
    Engine, ExportType, ExternType, FuncType, GlobalType, ImportType, MemoryType, TableType,
};
use anyhow::{Context as _, Result};
use cranelift_entity::PrimaryMap;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use trestle_compiler::{
    DefinedFuncIndex, EntityIndex, FrameTable, FuncLoc, ModuleArtifact, ModuleInfo, TypeGroup,
};
use trestle_vmctx::{Trap, VMOffsets};

struct ModuleInner {
    engine: Engine,
    info: ModuleInfo,
    offsets: VMOffsets,
    funcs: PrimaryMap<DefinedFuncIndex, FuncLoc>,
    code: Arc<CodeMemory>,
    /// What [`Module::serialize`] writes besides the above: the recursion
    /// groups with their canonical ids, the trap sites and the functions'
    /// frame table (which the code registry also holds, for backtraces).
    type_groups: Box<[TypeGroup]>,
    traps: Box<[(u32, Trap)]>,
    frames: Arc<FrameTable>,
    /// What the module keeps of its dropped instances for the next ones.
    instances: InstanceCache,
}

/// A compiled WebAssembly module.
///
/// Cheap to clone; instantiate it with [`crate::Instance::new`] or
/// [`crate::Linker::instantiate`].
///
/// ```
/// let engine = trestle::Engine::default();
/// let module = trestle::Module::new(&engine, r#"(module (func (export "f")))"#)?;
/// assert_eq!(module.exports().next().unwrap().name(), "f");
/// # Ok::<(), trestle::Error>(())
/// ```
#[derive(Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

impl fmt::Debug for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Module")
            .field("functions", &self.inner.info.functions.len())
            .field("code_size", &self.inner.code.len())
            .finish_non_exhaustive()
    }
}

/// The binary form of `bytes`: itself when it is a binary module, else the
/// result of parsing it as WebAssembly text.
fn to_binary(bytes: &[u8]) -> Result<Cow<'_, [u8]>> {
    if bytes.starts_with(b"\0asm") {
        return Ok(Cow::Borrowed(bytes));
    }
    wat::parse_bytes(bytes).map_err(|e| anyhow::anyhow!("failed to parse WebAssembly text: {e}"))
}

impl Module {
    /// Compiles a module from its binary or text form.
    ///
    /// # Errors
    ///
    /// When the text does not parse, or the module is malformed, invalid or
    /// uses an unsupported feature; the message says what and where.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let binary = to_binary(bytes.as_ref())?;
        Self::from_binary(engine, &binary)
    }

    /// Compiles a module from its binary form.
    ///
    /// # Errors
    ///
    /// When the module is malformed, invalid or uses an unsupported feature.
    pub fn from_binary(engine: &Engine, binary: &[u8]) -> Result<Module> {
        let mut type_groups = Vec::new();
        let compiled = engine.inner.compiler.compile_module(binary, &mut |group| {
            let base = engine.intern_group(group);
            type_groups.push(TypeGroup {
                members: group.into(),
                base,
            });
            base.as_u32()
        })?;
        Self::from_artifact(
            engine,
            ModuleArtifact {
                info: compiled.info,
                type_groups,
                funcs: compiled.funcs,
                traps: compiled.traps,
                code: &compiled.code,
                frames: compiled.frames,
            },
        )
    }

    /// A module from its compiled parts, whose types already have their
    /// ids in `engine`: the code is copied into executable memory.
    pub(crate) fn from_artifact(engine: &Engine, parts: ModuleArtifact<&[u8]>) -> Result<Module> {
        let offsets = parts.info.offsets().map_err(|e| anyhow::anyhow!("{e}"))?;
        let frames = Arc::new(parts.frames);
        let code = CodeMemory::with_frames(parts.code, parts.traps.clone(), Some(frames.clone()))
            .context("cannot map executable memory for the module's code")?;
        crate::profiling::register_module(engine.config().profiler, &code, &frames);
        let instances = InstanceCache::new(&parts.info, engine.config().instance_reuse);
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                instances,
                info: parts.info,
                offsets,
                funcs: parts.funcs,
                code,
                type_groups: parts.type_groups.into(),
                traps: parts.traps.into(),
                frames,
            }),
        })
    }

    /// The parts of this module [`Module::serialize`] writes; the code is
    /// read back from executable memory.
    pub(crate) fn artifact(&self) -> ModuleArtifact<&[u8]> {
        let inner = &*self.inner;
        ModuleArtifact {
            info: inner.info.clone(),
            type_groups: inner.type_groups.to_vec(),
            funcs: inner.funcs.clone(),
            traps: inner.traps.to_vec(),
            code: inner.code.bytes(),
            frames: FrameTable::clone(&inner.frames),
        }
    }

    /// Validates a module without compiling it.
    ///
    /// # Errors
    ///
    /// When the module is malformed, invalid or uses an unsupported feature.
    pub fn validate(engine: &Engine, binary: &[u8]) -> Result<()> {
        engine.inner.compiler.validate(binary)?;
        Ok(())
    }

    /// The engine the module was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn info(&self) -> &ModuleInfo {
        &self.inner.info
    }

    pub(crate) fn offsets(&self) -> &VMOffsets {
        &self.inner.offsets
    }

    /// What the module keeps of its dropped instances.
    pub(crate) fn instance_cache(&self) -> &InstanceCache {
        &self.inner.instances
    }

    pub(crate) fn func_locs(&self) -> &PrimaryMap<DefinedFuncIndex, FuncLoc> {
        &self.inner.funcs
    }

    pub(crate) fn code_base(&self) -> *const u8 {
        self.inner.code.base()
    }

    pub(crate) fn entity_type(&self, index: EntityIndex) -> ExternType {
        let info = &self.inner.info;
        match index {
            EntityIndex::Function(f) => {
                ExternType::Func(FuncType::from_wasm(info.func_type(f).clone()))
            }
            EntityIndex::Table(t) => ExternType::Table(TableType::from_wasm(info.tables[t])),
            EntityIndex::Memory(m) => ExternType::Memory(MemoryType {
                inner: info.memories[m],
            }),
            EntityIndex::Global(g) => ExternType::Global(GlobalType::from_wasm(info.globals[g])),
            EntityIndex::Tag(t) => ExternType::Tag(crate::TagType::new(FuncType::from_wasm(
                info.tag_type(t).clone(),
            ))),
        }
    }

    /// The module's imports, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType<'_>> + '_ {
        self.inner.info.imports.iter().map(|i| ImportType {
            module: &i.module,
            name: &i.name,
            ty: self.entity_type(i.index),
        })
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> + '_ {
        self.inner.info.exports.iter().map(|e| ExportType {
            name: &e.name,
            ty: self.entity_type(e.index),
        })
    }

    /// The type of export `name`.
    pub fn get_export(&self, name: &str) -> Option<ExternType> {
        self.inner
            .info
            .exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| self.entity_type(e.index))
    }
}
