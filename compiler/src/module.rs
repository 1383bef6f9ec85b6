//! Module-level translation: sections to [`ModuleInfo`], bodies to code, and
//! the layout of all functions in one position-independent blob.

use crate::devirt::KnownTables;
use crate::driver::{CompiledFunction, FunctionCompiler};
use crate::frame_info::{CodeRange, FrameTable, FuncFrameInfo, ModuleNames};
use crate::index::*;
use crate::inline::InlineCandidates;
use crate::translate::ModuleEnv;
use crate::types::*;
use crate::{CompileError, CompileErrorKind, Compiler};
use cranelift_codegen::binemit::Reloc;
use cranelift_entity::{EntityRef, PrimaryMap};
use std::sync::Arc;
use trestle_vmctx::{Trap, VMOffsets};
use wasmparser::{
    ExternalKind, FuncToValidate, FuncValidatorAllocations, FunctionBody, Parser, Payload, TypeRef,
    ValidPayload, Validator, ValidatorResources,
};

/// Where one defined function's code lives inside [`CompiledModule::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncLoc {
    /// Offset of the wasm-convention entry point.
    pub wasm_call: u32,
    /// Offset of the array-convention entry trampoline: only a function
    /// the host may call ([`ModuleInfo::escaping_funcs`]) has one.
    pub array_call: Option<u32>,
}

/// A translated module: its description and its machine code.
#[derive(Debug)]
pub struct CompiledModule {
    /// The module's description.
    pub info: ModuleInfo,
    /// The vmctx layout.
    pub offsets: VMOffsets,
    /// Machine code of every defined function and trampoline, relocated
    /// (position independent).
    pub code: Vec<u8>,
    /// Entry points of each defined function, by defined index.
    pub funcs: PrimaryMap<DefinedFuncIndex, FuncLoc>,
    /// Trap sites: code offset and trap, sorted by offset.
    pub traps: Vec<(u32, Trap)>,
    /// Names, code ranges and address maps of the defined functions.
    pub frames: FrameTable,
}

/// Where the parser is in the type section: the first type index of the
/// recursion group being read and its members, whose canonical ids are not
/// known yet.
#[derive(Clone, Copy)]
pub(crate) struct Group<'a> {
    start: TypeIndex,
    members: &'a [wasmparser::SubType],
}

/// Where types are converted: in the module described so far and, while
/// its recursion group is read, inside `group` (whose members' concrete
/// types become group-local positions).
#[derive(Clone, Copy)]
pub(crate) struct TypeScope<'a> {
    pub(crate) info: &'a ModuleInfo,
    pub(crate) group: Option<Group<'a>>,
}

impl<'a> TypeScope<'a> {
    /// The scope of the module outside any recursion group.
    pub(crate) fn module(info: &'a ModuleInfo) -> Self {
        Self { info, group: None }
    }

    /// Converts a wasmparser value type; concrete types become canonical
    /// ids (or group-local positions inside the group).
    pub(crate) fn val_type(self, t: wasmparser::ValType) -> Result<WasmValType, CompileError> {
        use wasmparser::ValType as V;
        Ok(match t {
            V::I32 => WasmValType::I32,
            V::I64 => WasmValType::I64,
            V::F32 => WasmValType::F32,
            V::F64 => WasmValType::F64,
            V::V128 => WasmValType::V128,
            V::Ref(r) => WasmValType::Ref(self.ref_type(r)?),
        })
    }

    /// Converts a wasmparser reference type.
    pub(crate) fn ref_type(self, r: wasmparser::RefType) -> Result<WasmRefType, CompileError> {
        Ok(WasmRefType {
            nullable: r.is_nullable(),
            heap: self.heap_type(r.heap_type())?,
        })
    }

    /// Converts a wasmparser heap type.
    pub(crate) fn heap_type(self, h: wasmparser::HeapType) -> Result<WasmHeapType, CompileError> {
        use wasmparser::AbstractHeapType as A;
        use wasmparser::HeapType as H;
        Ok(match h {
            H::Abstract { shared: true, .. } => {
                return Err(CompileError::unsupported("shared reference types"));
            }
            H::Abstract { ty, .. } => match ty {
                A::Func => WasmHeapType::Func,
                A::NoFunc => WasmHeapType::NoFunc,
                A::Extern => WasmHeapType::Extern,
                A::NoExtern => WasmHeapType::NoExtern,
                A::Exn => WasmHeapType::Exn,
                A::NoExn => WasmHeapType::NoExn,
                A::Any => WasmHeapType::Any,
                A::Eq => WasmHeapType::Eq,
                A::I31 => WasmHeapType::I31,
                A::Struct => WasmHeapType::Struct,
                A::Array => WasmHeapType::Array,
                A::None => WasmHeapType::None,
                other => {
                    return Err(CompileError::unsupported(format!("heap type {other:?}")));
                }
            },
            H::Concrete(index) => {
                concrete_type(self.info, self.group, type_index(self.group, index)?)?
            }
            H::Exact(_) => return Err(CompileError::unsupported("exact reference types")),
        })
    }
}

/// The module type index `index` names, as a raw number: a group-relative
/// index counts from the start of `group` (outside any group it names
/// nothing, and [`concrete_type`] reports an unknown type).
fn type_index(
    group: Option<Group<'_>>,
    index: wasmparser::UnpackedIndex,
) -> Result<u32, CompileError> {
    match index {
        wasmparser::UnpackedIndex::Module(i) => Ok(i),
        wasmparser::UnpackedIndex::RecGroup(i) => {
            Ok(group.map_or(u32::MAX, |g| g.start.as_u32().saturating_add(i)))
        }
        other => Err(CompileError::unsupported(format!("type index {other:?}"))),
    }
}

/// The heap type of references to type `index` (a raw type index).
fn concrete_type(
    info: &ModuleInfo,
    group: Option<Group<'_>>,
    index: u32,
) -> Result<WasmHeapType, CompileError> {
    use wasmparser::CompositeInnerType as C;
    if let Some(g) = group
        && let Some(member) = index
            .checked_sub(g.start.as_u32())
            .and_then(|i| g.members.get(i as usize))
    {
        let local = CanonicalTypeId::rec_group_local(index - g.start.as_u32());
        return Ok(match member.composite_type.inner {
            C::Func(_) => WasmHeapType::ConcreteFunc(local),
            C::Array(_) => WasmHeapType::ConcreteArray(local),
            C::Struct(_) => WasmHeapType::ConcreteStruct(local),
            _ => return Err(CompileError::unsupported("continuation types")),
        });
    }
    // Only an index in range is a `TypeIndex` (`u32::MAX` is not one).
    let ty = ((index as usize) < info.sub_types.len()).then(|| TypeIndex::from_u32(index));
    match (
        ty.and_then(|t| info.sub_types.get(t)),
        ty.and_then(|t| info.type_ids.get(t)),
    ) {
        (Some(sub), Some(&id)) => Ok(sub.heap_type(id)),
        _ => Err(CompileError::new(
            CompileErrorKind::Invalid,
            format!("unknown type {index}"),
        )),
    }
}

/// Converts one member of a recursion group.
fn sub_type(
    info: &ModuleInfo,
    group: Group<'_>,
    sub: &wasmparser::SubType,
) -> Result<WasmSubType, CompileError> {
    if sub.composite_type.shared {
        return Err(CompileError::unsupported("shared types"));
    }
    if sub.composite_type.descriptor_idx.is_some() || sub.composite_type.describes_idx.is_some() {
        return Err(CompileError::unsupported("type descriptors"));
    }
    let supertype = match sub.supertype_idxs.first() {
        None => None,
        Some(p) => {
            let index = type_index(Some(group), p.unpack())?;
            concrete_type(info, Some(group), index)?.concrete()
        }
    };
    let field = |f: &wasmparser::FieldType| -> Result<WasmFieldType, CompileError> {
        Ok(WasmFieldType {
            storage: match f.element_type {
                wasmparser::StorageType::I8 => WasmStorageType::I8,
                wasmparser::StorageType::I16 => WasmStorageType::I16,
                wasmparser::StorageType::Val(v) => WasmStorageType::Val(
                    TypeScope {
                        info,
                        group: Some(group),
                    }
                    .val_type(v)?,
                ),
            },
            mutable: f.mutable,
        })
    };
    let composite = match &sub.composite_type.inner {
        wasmparser::CompositeInnerType::Func(f) => {
            let convert = |ts: &[wasmparser::ValType]| {
                ts.iter()
                    .map(|t| {
                        TypeScope {
                            info,
                            group: Some(group),
                        }
                        .val_type(*t)
                    })
                    .collect::<Result<Box<[_]>, _>>()
            };
            WasmCompositeType::Func(WasmFuncType {
                params: convert(f.params())?,
                results: convert(f.results())?,
            })
        }
        wasmparser::CompositeInnerType::Array(a) => WasmCompositeType::Array(field(&a.0)?),
        wasmparser::CompositeInnerType::Struct(s) => {
            WasmCompositeType::Struct(s.fields.iter().map(field).collect::<Result<_, _>>()?)
        }
        _ => return Err(CompileError::unsupported("continuation types")),
    };
    Ok(WasmSubType {
        is_final: sub.is_final,
        supertype,
        composite,
    })
}

/// Canonicalizes a recursion group: its members in order, with references
/// to each other marked [`REC_GROUP_LOCAL`], to the engine-wide id of its
/// first member (the others follow it), the raw value of a
/// [`CanonicalTypeId`].
pub type InternGroup<'a> = dyn FnMut(&[WasmSubType]) -> u32 + 'a;

fn table_type(info: &ModuleInfo, t: &wasmparser::TableType) -> Result<WasmTableType, CompileError> {
    if t.shared {
        return Err(CompileError::unsupported("shared tables"));
    }
    Ok(WasmTableType {
        element: TypeScope::module(info).ref_type(t.element_type)?,
        minimum: t.initial,
        maximum: t.maximum,
        table64: t.table64,
    })
}

fn memory_type(m: &wasmparser::MemoryType) -> Result<WasmMemoryType, CompileError> {
    if m.shared {
        return Err(CompileError::unsupported("shared memories"));
    }
    if m.page_size_log2.is_some() {
        return Err(CompileError::unsupported("custom page sizes"));
    }
    Ok(WasmMemoryType {
        minimum: m.initial,
        maximum: m.maximum,
        memory64: m.memory64,
        shared: false,
    })
}

fn global_type(
    info: &ModuleInfo,
    g: &wasmparser::GlobalType,
) -> Result<WasmGlobalType, CompileError> {
    if g.shared {
        return Err(CompileError::unsupported("shared globals"));
    }
    Ok(WasmGlobalType {
        ty: TypeScope::module(info).val_type(g.content_type)?,
        mutable: g.mutable,
    })
}

fn const_expr(info: &ModuleInfo, e: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, CompileError> {
    use wasmparser::Operator as O;
    let mut ops = Vec::new();
    let mut reader = e.get_operators_reader();
    while !reader.eof() {
        let op = match reader.read()? {
            O::End => continue,
            O::I32Const { value } => ConstOp::I32(value),
            O::I64Const { value } => ConstOp::I64(value),
            O::F32Const { value } => ConstOp::F32(value.bits()),
            O::F64Const { value } => ConstOp::F64(value.bits()),
            O::V128Const { value } => ConstOp::V128(u128::from_le_bytes(*value.bytes())),
            O::GlobalGet { global_index } => {
                ConstOp::GlobalGet(GlobalIndex::from_u32(global_index))
            }
            O::RefNull { hty } => ConstOp::RefNull(TypeScope::module(info).heap_type(hty)?),
            O::RefFunc { function_index } => ConstOp::RefFunc(FuncIndex::from_u32(function_index)),
            O::I32Add => ConstOp::I32Add,
            O::I32Sub => ConstOp::I32Sub,
            O::I32Mul => ConstOp::I32Mul,
            O::I64Add => ConstOp::I64Add,
            O::I64Sub => ConstOp::I64Sub,
            O::I64Mul => ConstOp::I64Mul,
            O::ArrayNew { array_type_index } => {
                ConstOp::ArrayNew(TypeIndex::from_u32(array_type_index))
            }
            O::ArrayNewDefault { array_type_index } => {
                ConstOp::ArrayNewDefault(TypeIndex::from_u32(array_type_index))
            }
            O::ArrayNewFixed {
                array_type_index,
                array_size,
            } => ConstOp::ArrayNewFixed(TypeIndex::from_u32(array_type_index), array_size),
            other => {
                return Err(CompileError::unsupported(format!(
                    "constant expression operator {other:?}"
                )));
            }
        };
        ops.push(op);
    }
    Ok(ConstExpr { ops: ops.into() })
}

/// A compiled body: its code and its array-to-wasm trampoline, if the host
/// may call it.
type Compiled = (CompiledFunction, Option<CompiledFunction>);

/// A function body as the validator hands it over, to compile.
pub(crate) type BodyToCompile<'a> = (FuncToValidate<ValidatorResources>, FunctionBody<'a>);

/// The parsed module and the bodies still to translate.
pub(crate) struct Parsed<'a> {
    pub(crate) info: ModuleInfo,
    pub(crate) bodies: Vec<BodyToCompile<'a>>,
    pub(crate) names: ModuleNames,
}

impl Parsed<'_> {
    /// The vmctx layout and the tables whose contents the translator may
    /// assume: what every function's translation reads besides its body.
    pub(crate) fn analyze(&self, parallel: bool) -> Result<(VMOffsets, KnownTables), CompileError> {
        let offsets = self
            .info
            .offsets()
            .map_err(|e| CompileError::new(CompileErrorKind::Codegen, e.to_string()))?;
        let body_refs: Vec<_> = self.bodies.iter().map(|(_, body)| body).collect();
        let known_tables = KnownTables::analyze(&self.info, &body_refs, parallel);
        Ok((offsets, known_tables))
    }
}

pub(crate) fn parse<'a>(
    features: crate::Features,
    wasm: &'a [u8],
    intern: &mut InternGroup<'_>,
) -> Result<Parsed<'a>, CompileError> {
    let mut validator = Validator::new_with_features(features.to_wasmparser());
    let mut info = ModuleInfo::default();
    let mut bodies = Vec::new();
    let mut names = ModuleNames::default();
    let mut seen_end = false;
    let mut parser = Parser::new(0);
    parser.set_features(features.to_wasmparser());
    for payload in parser.parse_all(wasm) {
        let payload = payload?;
        match validator.payload(&payload)? {
            ValidPayload::Ok | ValidPayload::Parser(_) => {}
            ValidPayload::Func(func, body) => bodies.push((func, body)),
            ValidPayload::End(_) => seen_end = true,
        }
        match payload {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                return Err(CompileError::unsupported("components"));
            }
            Payload::TypeSection(reader) => {
                for group in reader {
                    let group = group?;
                    let members: Vec<wasmparser::SubType> = group.into_types().collect();
                    let g = Group {
                        start: info.sub_types.next_key(),
                        members: &members,
                    };
                    let subs = members
                        .iter()
                        .map(|sub| sub_type(&info, g, sub))
                        .collect::<Result<Vec<_>, _>>()?;
                    let base = CanonicalTypeId::from_u32(intern(&subs));
                    for (i, sub) in subs.iter().enumerate() {
                        let sub = sub.in_group(base);
                        info.type_ids.push(base.offset(i as u32));
                        info.types.push(Arc::new(sub.func_or_empty()));
                        info.sub_types.push(Arc::new(sub));
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let index = match import.ty {
                        TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                            EntityIndex::Function(info.functions.push(TypeIndex::from_u32(ty)))
                        }
                        TypeRef::Table(t) => {
                            EntityIndex::Table(info.tables.push(table_type(&info, &t)?))
                        }
                        TypeRef::Memory(m) => {
                            EntityIndex::Memory(info.memories.push(memory_type(&m)?))
                        }
                        TypeRef::Global(g) => {
                            EntityIndex::Global(info.globals.push(global_type(&info, &g)?))
                        }
                        TypeRef::Tag(t) => {
                            EntityIndex::Tag(info.tags.push(TypeIndex::from_u32(t.func_type_idx)))
                        }
                    };
                    info.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        index,
                    });
                }
                // Imports come first in each index space, and the module
                // has one import section at most: all there is so far is
                // imported.
                info.num_imported_funcs = info.functions.len() as u32;
                info.num_imported_tables = info.tables.len() as u32;
                info.num_imported_memories = info.memories.len() as u32;
                info.num_imported_globals = info.globals.len() as u32;
                info.num_imported_tags = info.tags.len() as u32;
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    info.functions.push(TypeIndex::from_u32(ty?));
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table?;
                    let init = match &table.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(e) => Some(const_expr(&info, e)?),
                    };
                    info.tables.push(table_type(&info, &table.ty)?);
                    info.table_inits.push(init);
                }
            }
            Payload::MemorySection(reader) => {
                for m in reader {
                    info.memories.push(memory_type(&m?)?);
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader {
                    let g = g?;
                    info.globals.push(global_type(&info, &g.ty)?);
                    info.global_inits.push(const_expr(&info, &g.init_expr)?);
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e?;
                    let index = match e.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => {
                            EntityIndex::Function(FuncIndex::from_u32(e.index))
                        }
                        ExternalKind::Table => EntityIndex::Table(TableIndex::from_u32(e.index)),
                        ExternalKind::Memory => EntityIndex::Memory(MemoryIndex::from_u32(e.index)),
                        ExternalKind::Global => EntityIndex::Global(GlobalIndex::from_u32(e.index)),
                        ExternalKind::Tag => EntityIndex::Tag(TagIndex::from_u32(e.index)),
                    };
                    info.exports.push(Export {
                        name: e.name.to_string(),
                        index,
                    });
                }
            }
            Payload::StartSection { func, .. } => info.start = Some(FuncIndex::from_u32(func)),
            Payload::ElementSection(reader) => {
                for e in reader {
                    let e = e?;
                    let mode = match e.kind {
                        wasmparser::ElementKind::Passive => SegmentMode::Passive,
                        wasmparser::ElementKind::Declared => SegmentMode::Declared,
                        wasmparser::ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => SegmentMode::Active {
                            index: TableIndex::from_u32(table_index.unwrap_or(0)),
                            offset: const_expr(&info, &offset_expr)?,
                        },
                    };
                    let (element, items) = match e.items {
                        wasmparser::ElementItems::Functions(r) => (
                            WasmRefType::FUNCREF,
                            ElementItems::Functions(
                                r.into_iter()
                                    .map(|f| f.map(FuncIndex::from_u32))
                                    .collect::<Result<_, _>>()?,
                            ),
                        ),
                        wasmparser::ElementItems::Expressions(ty, r) => {
                            let mut exprs = Vec::new();
                            for x in r {
                                exprs.push(const_expr(&info, &x?)?);
                            }
                            (
                                TypeScope::module(&info).ref_type(ty)?,
                                ElementItems::Expressions(exprs.into()),
                            )
                        }
                    };
                    info.elements.push(ElementSegment {
                        mode,
                        element,
                        items,
                    });
                }
            }
            Payload::DataSection(reader) => {
                for d in reader {
                    let d = d?;
                    let mode = match d.kind {
                        wasmparser::DataKind::Passive => SegmentMode::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => SegmentMode::Active {
                            index: MemoryIndex::from_u32(memory_index),
                            offset: const_expr(&info, &offset_expr)?,
                        },
                    };
                    info.data.push(DataSegment {
                        mode,
                        data: d.data.into(),
                    });
                }
            }
            Payload::TagSection(reader) => {
                for t in reader {
                    info.tags.push(TypeIndex::from_u32(t?.func_type_idx));
                }
            }
            Payload::CustomSection(section) => {
                if let wasmparser::KnownCustom::Name(reader) = section.as_known() {
                    names.read(reader);
                }
            }
            _ => {}
        }
    }
    if !seen_end {
        return Err(CompileError::new(
            CompileErrorKind::Invalid,
            "unexpected end of module",
        ));
    }
    info.find_escaping_funcs();
    Ok(Parsed {
        info,
        bodies,
        names,
    })
}

impl Compiler {
    /// Validates a module without generating code.
    ///
    /// # Errors
    ///
    /// When the module is malformed, invalid, or uses an unsupported feature.
    pub fn validate(&self, wasm: &[u8]) -> Result<(), CompileError> {
        let parsed = parse(self.options.features, wasm, &mut |_| 0)?;
        let mut allocs = FuncValidatorAllocations::default();
        for (func, body) in parsed.bodies {
            let mut v = func.into_validator(allocs);
            v.validate(&body)?;
            allocs = v.into_allocations();
        }
        Ok(())
    }

    /// Validates and compiles a module.
    ///
    /// `intern` maps each recursion group of the type section to the
    /// engine-wide canonical id of its first member (at least
    /// [`trestle_vmctx::TYPE_ID_FIRST`]; the other members follow it);
    /// `call_indirect` compares against these ids as immediates.
    ///
    /// # Errors
    ///
    /// When the module is malformed, invalid, uses an unsupported feature,
    /// or code generation fails.
    pub fn compile_module(
        &self,
        wasm: &[u8],
        intern: &mut InternGroup<'_>,
    ) -> Result<CompiledModule, CompileError> {
        let parsed = parse(self.options.features, wasm, intern)?;
        let (offsets, known_tables) = parsed.analyze(self.options.parallel_compilation)?;
        let Parsed {
            info,
            bodies,
            names,
        } = parsed;
        let body_starts: Vec<u32> = bodies
            .iter()
            .map(|(_, body)| body.range().start as u32)
            .collect();
        let inline = InlineCandidates::for_module(self, &info, &bodies);
        // On all threads, largest bodies first; the results come back in
        // function order, and an error is that of the earliest function, as
        // a sequential validator would report it.
        let compiled = crate::schedule::compile_all(
            bodies,
            self.options.parallel_compilation,
            |(_, body)| (body.range().end - body.range().start) as usize,
            || {
                FunctionCompiler::new(ModuleEnv {
                    compiler: self,
                    info: &info,
                    offsets: &offsets,
                    known_tables: &known_tables,
                    inline: &inline,
                })
            },
            |compiler, i, (func, body)| -> Result<Compiled, CompileError> {
                let func_index = info.func_index(DefinedFuncIndex::new(i));
                let code = compiler.compile_body(func_index, func, &body)?;
                let tramp = if info.is_escaping(func_index) {
                    Some(compiler.compile_array_to_wasm(func_index)?)
                } else {
                    None
                };
                Ok((code, tramp))
            },
        )?;
        let compiled: PrimaryMap<DefinedFuncIndex, Compiled> = PrimaryMap::from(compiled);
        let mut module = link(info, offsets, &compiled)?;
        module.frames = frame_table(&module, compiled, names, &body_starts);
        Ok(module)
    }
}

/// Lays out every function and entry trampoline in one blob and resolves
/// the direct calls between them.
fn link(
    mut info: ModuleInfo,
    offsets: VMOffsets,
    compiled: &PrimaryMap<DefinedFuncIndex, Compiled>,
) -> Result<CompiledModule, CompileError> {
    let mut code = Vec::new();
    let mut traps = Vec::new();
    let mut funcs = PrimaryMap::with_capacity(compiled.len());
    let mut pending = Vec::new();
    let mut place = |f: &CompiledFunction, code: &mut Vec<u8>| -> u32 {
        while !code.len().is_multiple_of(16) {
            code.push(0);
        }
        code.resize(code.len() + loop_padding(code.len(), &f.loops), 0);
        let start = code.len() as u32;
        code.extend_from_slice(&f.code);
        traps.extend(f.traps.iter().map(|(o, t)| (start + o, *t)));
        for r in &f.relocs {
            pending.push((start, *r));
        }
        start
    };
    // Function bodies first, back to back, then the trampolines the host
    // enters through: the code that calls runs is dense, so many small
    // targets of a `call_indirect` share instruction-cache lines.
    let bodies: Vec<u32> = compiled
        .values()
        .map(|(f, _)| place(f, &mut code))
        .collect();
    for ((_, t), wasm_call) in compiled.values().zip(bodies) {
        let array_call = t.as_ref().map(|t| place(t, &mut code));
        funcs.push(FuncLoc {
            wasm_call,
            array_call,
        });
    }
    if u32::try_from(code.len()).is_err() {
        return Err(CompileError::codegen("module code larger than 4 GiB"));
    }
    for (start, (offset, callee, kind, addend)) in pending {
        let defined = info
            .defined_func_index(callee)
            .ok_or_else(|| CompileError::codegen("direct call to an imported function"))?;
        let target = i64::from(funcs[defined].wasm_call);
        let at = (start + offset) as usize;
        patch(&mut code, at, kind, target + addend - at as i64)?;
    }
    traps.sort_by_key(|(o, _)| *o);
    let mut written: Vec<TableIndex> = compiled
        .values()
        .flat_map(|(f, _)| f.written_tables.iter().copied())
        .collect();
    written.sort_unstable();
    written.dedup();
    info.code_written_tables = written;
    Ok(CompiledModule {
        info,
        offsets,
        code,
        funcs,
        traps,
        frames: FrameTable::default(),
    })
}

/// The frame table of a linked module: where each function's body and
/// trampoline were placed, the address map of the body, and the names of
/// the `name` section. `body_starts` are the module offsets of the bodies,
/// by defined index.
fn frame_table(
    module: &CompiledModule,
    compiled: PrimaryMap<DefinedFuncIndex, Compiled>,
    mut names: ModuleNames,
    body_starts: &[u32],
) -> FrameTable {
    let funcs = compiled
        .into_iter()
        .zip(body_starts)
        .map(|((i, (body, tramp)), &module_start)| {
            let func_index = module.info.func_index(i);
            let loc = module.funcs[i];
            FuncFrameInfo {
                func_index,
                name: names.funcs.remove(&func_index.as_u32()),
                module_start,
                body: CodeRange {
                    start: loc.wasm_call,
                    len: body.code.len() as u32,
                },
                array_call: loc.array_call.zip(tramp).map(|(start, t)| CodeRange {
                    start,
                    len: t.code.len() as u32,
                }),
                address_map: body.address_map.into(),
                call_sites: body.call_sites.into(),
            }
        })
        .collect();
    FrameTable {
        module_name: names.module,
        funcs,
    }
}

/// A cache line, as far as loop placement is concerned.
const LINE: usize = 64;

/// The padding, 0, 16, 32 or 48 bytes, to put before a function that
/// would start at `at` (a multiple of 16) so that as many as possible of
/// its loops short enough to fit in a cache line each lie inside one; the
/// least such padding, and none for a function without short loops.
///
/// A small hot loop that straddles two cache lines can take half as long
/// again per iteration as the same loop inside one, on x86-64 CPUs whose
/// decoded-instruction cache works on 64-byte windows: the placement of a
/// function would otherwise decide the speed of its inner loops by chance.
/// Functions without loops (the small targets of `call_indirect`) stay
/// back to back.
pub(crate) fn loop_padding(at: usize, loops: &[(u32, u32)]) -> usize {
    let short: Vec<(usize, usize)> = loops
        .iter()
        .map(|&(start, end)| (start as usize, end as usize))
        .filter(|(start, end)| end > start && end - start <= LINE)
        .collect();
    let fitting = |pad: usize| {
        short
            .iter()
            .filter(|(start, end)| (at + pad + start) / LINE == (at + pad + end - 1) / LINE)
            .count()
    };
    (0..LINE)
        .step_by(16)
        .max_by_key(|pad| (fitting(*pad), std::cmp::Reverse(*pad)))
        .unwrap_or(0)
}

fn patch(code: &mut [u8], at: usize, kind: Reloc, delta: i64) -> Result<(), CompileError> {
    match kind {
        Reloc::X86CallPCRel4 | Reloc::X86PCRel4 => {
            let v = i32::try_from(delta)
                .map_err(|_| CompileError::codegen("call displacement out of range"))?;
            code[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        Reloc::Arm64Call => {
            if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                return Err(CompileError::codegen("call displacement out of range"));
            }
            let insn = u32::from_le_bytes(code[at..at + 4].try_into().expect("4 bytes"));
            let imm = ((delta >> 2) as u32) & 0x03ff_ffff;
            code[at..at + 4].copy_from_slice(&((insn & 0xfc00_0000) | imm).to_le_bytes());
        }
        other => {
            return Err(CompileError::codegen(format!(
                "unsupported relocation kind {other:?}"
            )));
        }
    }
    Ok(())
}
