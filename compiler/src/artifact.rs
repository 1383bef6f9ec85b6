//! The precompiled module format (`.cwasm`): a compiled module written to
//! bytes, and read back without compiling.
//!
//! # Layout
//!
//! All integers are little-endian.
//!
//! ```text
//! magic             16 bytes  "\0trestle-cwasm\0\0"
//! format version    u32       FORMAT_VERSION
//! section count     u32
//! section table     count x { id: u32, checksum: u32, offset: u64, len: u64 }
//! header checksum   u32       CRC-32 of everything above
//! sections          each at its offset, 16-byte aligned
//! ```
//!
//! A section is a run of bytes named by a [`SectionId`], with a CRC-32 of
//! its contents; adding a kind of data is adding an id, a writer and a
//! reader, and the table of contents stays the same. The sections of a
//! module are:
//!
//! - [`SectionId::Environment`]: the Trestle version, the target, the CPU
//!   features and every setting that changes the generated code, one
//!   `name: value` line each. Loading compares it, line by line, with the
//!   loading compiler's own and names the first line that differs.
//! - [`SectionId::Info`]: the [`ModuleInfo`] (postcard encoding).
//! - [`SectionId::TypeGroups`]: the recursion groups of the type section
//!   with the canonical id the compiling engine gave each (the code
//!   compares type ids as immediates, so the loading engine must give them
//!   the same ids).
//! - [`SectionId::Functions`]: the entry points of each defined function,
//!   two `u32` code offsets each: the body and the array-to-wasm
//!   trampoline, `u32::MAX` for a function the host cannot call, which
//!   has none.
//! - [`SectionId::Traps`]: the trap sites, a `u32` code offset and a trap
//!   byte each.
//! - [`SectionId::Code`]: the machine code.
//! - [`SectionId::Frames`]: the [`FrameTable`] of the functions (postcard
//!   encoding), which backtraces and profilers read.
//!
//! Every section is bounds-checked against the file and its checksum
//! verified before anything is decoded (the padding between sections must
//! be zeros and nothing may follow the last one, so no byte can change
//! unnoticed), and decoding checks every length
//! and index, so a truncated or corrupted file is an error.

use crate::frame_info::{CodeRange, FrameTable};
use crate::index::{CanonicalTypeId, DefinedFuncIndex};
use crate::module::FuncLoc;
use crate::types::{ModuleInfo, WasmSubType};
use crate::{CompileError, CompileErrorKind, Compiler};
use cranelift_entity::PrimaryMap;
use std::fmt::Write as _;
use trestle_vmctx::Trap;

/// The first bytes of every precompiled module.
pub const MAGIC: [u8; 16] = *b"\0trestle-cwasm\0\0";

/// The version of the layout above; the Trestle version in the
/// environment section covers the encoding of each section.
const FORMAT_VERSION: u32 = 2;

/// The trampoline offset of a function without an entry trampoline in the
/// functions section.
const NO_TRAMPOLINE: u32 = u32::MAX;

/// Bytes of one entry of the section table.
const TABLE_ENTRY: usize = 24;

/// Alignment of every section in the file.
const SECTION_ALIGN: usize = 16;

/// The kinds of section of a precompiled module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum SectionId {
    /// Version, target, CPU features and code-affecting settings.
    Environment = 1,
    /// The module's description.
    Info = 2,
    /// Recursion groups and their canonical ids.
    TypeGroups = 3,
    /// Entry points of the defined functions.
    Functions = 4,
    /// Trap sites.
    Traps = 5,
    /// Machine code.
    Code = 6,
    /// The functions' code ranges, names and address maps, for backtraces
    /// and profilers.
    Frames = 7,
}

impl SectionId {
    const ALL: [SectionId; 7] = [
        SectionId::Environment,
        SectionId::Info,
        SectionId::TypeGroups,
        SectionId::Functions,
        SectionId::Traps,
        SectionId::Code,
        SectionId::Frames,
    ];

    fn from_u32(id: u32) -> Option<SectionId> {
        Self::ALL.into_iter().find(|s| *s as u32 == id)
    }
}

/// A recursion group of a module's type section as it was canonicalized:
/// its members (references to each other group-local) and the canonical
/// id of its first member.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TypeGroup {
    /// The members, in order.
    pub members: Box<[WasmSubType]>,
    /// The canonical id of the first member; the others follow it.
    pub base: CanonicalTypeId,
}

/// A compiled module, as [`Compiler::serialize_module`] writes it and
/// [`Compiler::deserialize_module`] reads it back.
#[derive(Debug, Clone)]
pub struct ModuleArtifact<C> {
    /// The module's description.
    pub info: ModuleInfo,
    /// The recursion groups of the type section, in order.
    pub type_groups: Vec<TypeGroup>,
    /// Entry points of each defined function.
    pub funcs: PrimaryMap<DefinedFuncIndex, FuncLoc>,
    /// Trap sites, sorted by code offset.
    pub traps: Vec<(u32, Trap)>,
    /// The machine code: borrowed when writing, and from the file's bytes
    /// when reading.
    pub code: C,
    /// Where each function's code lies, its name and its address map.
    pub frames: FrameTable,
}

fn corrupt(what: impl std::fmt::Display) -> CompileError {
    CompileError::new(
        CompileErrorKind::Invalid,
        format!("corrupted precompiled module: {what}"),
    )
}

/// Assembles sections into a file.
#[derive(Default)]
struct SectionWriter<'a> {
    sections: Vec<(SectionId, &'a [u8])>,
}

impl<'a> SectionWriter<'a> {
    fn add(&mut self, id: SectionId, bytes: &'a [u8]) {
        self.sections.push((id, bytes));
    }

    fn finish(self) -> Vec<u8> {
        let header = MAGIC.len() + 8 + self.sections.len() * TABLE_ENTRY + 4;
        let mut offset = header.next_multiple_of(SECTION_ALIGN);
        let mut out = Vec::with_capacity(
            offset
                + self
                    .sections
                    .iter()
                    .map(|(_, b)| b.len() + SECTION_ALIGN)
                    .sum::<usize>(),
        );
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.sections.len() as u32).to_le_bytes());
        for (id, bytes) in &self.sections {
            out.extend_from_slice(&(*id as u32).to_le_bytes());
            out.extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
            out.extend_from_slice(&(offset as u64).to_le_bytes());
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            offset = (offset + bytes.len()).next_multiple_of(SECTION_ALIGN);
        }
        let checksum = crc32fast::hash(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        for (_, bytes) in &self.sections {
            out.resize(out.len().next_multiple_of(SECTION_ALIGN), 0);
            out.extend_from_slice(bytes);
        }
        out
    }
}

/// The sections of a file, each checked against the file's bounds and its
/// checksum.
struct Sections<'a> {
    sections: Vec<(SectionId, &'a [u8])>,
}

/// Reads `N` bytes at `*at` of `bytes` and advances past them.
fn take<const N: usize>(bytes: &[u8], at: &mut usize) -> Result<[u8; N], CompileError> {
    let end = at
        .checked_add(N)
        .filter(|end| *end <= bytes.len())
        .ok_or_else(|| corrupt("the file is truncated"))?;
    let taken = bytes[*at..end].try_into().expect("N bytes");
    *at = end;
    Ok(taken)
}

impl<'a> Sections<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, CompileError> {
        if !bytes.starts_with(&MAGIC) {
            return Err(CompileError::new(
                CompileErrorKind::Invalid,
                "not a precompiled Trestle module (bad magic bytes)",
            ));
        }
        let mut at = MAGIC.len();
        let version = u32::from_le_bytes(take(bytes, &mut at)?);
        if version != FORMAT_VERSION {
            return Err(CompileError::new(
                CompileErrorKind::Invalid,
                format!(
                    "precompiled module has format version {version}, this Trestle reads \
                     version {FORMAT_VERSION}"
                ),
            ));
        }
        let count = u32::from_le_bytes(take(bytes, &mut at)?) as usize;
        if count > SectionId::ALL.len() {
            return Err(corrupt(format!("{count} sections")));
        }
        let mut sections = Vec::with_capacity(count);
        let mut checksums = Vec::with_capacity(count);
        for _ in 0..count {
            let id = u32::from_le_bytes(take(bytes, &mut at)?);
            let checksum = u32::from_le_bytes(take(bytes, &mut at)?);
            let offset = u64::from_le_bytes(take(bytes, &mut at)?);
            let len = u64::from_le_bytes(take(bytes, &mut at)?);
            let id =
                SectionId::from_u32(id).ok_or_else(|| corrupt(format!("unknown section {id}")))?;
            let range = usize::try_from(offset)
                .ok()
                .zip(usize::try_from(len).ok())
                .and_then(|(start, len)| Some(start..start.checked_add(len)?))
                .filter(|r| r.end <= bytes.len())
                .ok_or_else(|| corrupt(format!("section {id:?} lies outside the file")))?;
            sections.push((id, range));
            checksums.push(checksum);
        }
        let header_end = at;
        let header_checksum = u32::from_le_bytes(take(bytes, &mut at)?);
        if crc32fast::hash(&bytes[..header_end]) != header_checksum {
            return Err(corrupt("header checksum mismatch"));
        }
        // The header checksum and the sections' cover everything but the
        // alignment padding, which must be zeros: no byte of the file may
        // change unnoticed, and nothing may follow the last section.
        let mut ranges: Vec<_> = sections.iter().map(|(_, r)| r.clone()).collect();
        ranges.sort_by_key(|r| r.start);
        let mut covered = at;
        for range in &ranges {
            if range.start < covered {
                return Err(corrupt("sections overlap"));
            }
            if bytes[covered..range.start].iter().any(|b| *b != 0) {
                return Err(corrupt("nonzero padding"));
            }
            covered = range.end;
        }
        if covered != bytes.len() {
            return Err(corrupt("trailing bytes after the last section"));
        }
        let mut checked = Vec::with_capacity(count);
        for ((id, range), checksum) in sections.into_iter().zip(checksums) {
            let data = &bytes[range];
            if crc32fast::hash(data) != checksum {
                return Err(corrupt(format!("checksum mismatch in section {id:?}")));
            }
            if checked.iter().any(|(seen, _)| *seen == id) {
                return Err(corrupt(format!("section {id:?} appears twice")));
            }
            checked.push((id, data));
        }
        Ok(Self { sections: checked })
    }

    fn get(&self, id: SectionId) -> Result<&'a [u8], CompileError> {
        self.sections
            .iter()
            .find(|(s, _)| *s == id)
            .map(|(_, data)| *data)
            .ok_or_else(|| corrupt(format!("section {id:?} is missing")))
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("in-memory encoding cannot fail")
}

fn decode<'a, T: serde::Deserialize<'a>>(
    id: SectionId,
    bytes: &'a [u8],
) -> Result<T, CompileError> {
    let (value, rest) = postcard::take_from_bytes(bytes)
        .map_err(|e| corrupt(format!("section {id:?} does not decode: {e}")))?;
    if !rest.is_empty() {
        return Err(corrupt(format!("trailing bytes in section {id:?}")));
    }
    Ok(value)
}

/// Splits `bytes` into `N`-byte records.
fn records<const N: usize>(id: SectionId, bytes: &[u8]) -> Result<Vec<[u8; N]>, CompileError> {
    if !bytes.len().is_multiple_of(N) {
        return Err(corrupt(format!("section {id:?} has a partial record")));
    }
    Ok(bytes
        .chunks_exact(N)
        .map(|c| c.try_into().expect("N bytes"))
        .collect())
}

fn u32_at(record: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(record[at..at + 4].try_into().expect("4 bytes"))
}

impl Compiler {
    /// What a precompiled module must have been compiled with to run on
    /// this compiler's code: `name: value` lines for the Trestle version,
    /// the target, the CPU features and each code-affecting setting (all
    /// but the verifier and parallel compilation, which leave the code as
    /// it is).
    pub fn environment(&self) -> String {
        let mut env = String::new();
        let mut line = |name: &str, value: &dyn std::fmt::Display| {
            writeln!(env, "{name}: {value}").expect("writing to a String");
        };
        line("trestle version", &env!("CARGO_PKG_VERSION"));
        line("target", &self.isa.triple());
        let flags = |flags: Vec<cranelift_codegen::settings::Value>| {
            flags
                .iter()
                .filter(|f| f.name != "enable_verifier")
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let o = &self.options;
        line("WebAssembly features", &format_args!("{:?}", o.features));
        line("optimize", &o.optimize);
        line("consume fuel", &o.consume_fuel);
        line("epoch interruption", &o.epoch_interruption);
        line("lazy table initialization", &o.table_lazy_init);
        line("deterministic relaxed SIMD", &o.relaxed_simd_deterministic);
        line("wasm backtraces", &o.wasm_backtrace);
        line("inlining", &(o.optimize && o.inlining));
        line("CPU features", &flags(self.isa.isa_flags()));
        line(
            "code generator settings",
            &flags(self.isa.flags().iter().collect()),
        );
        env
    }

    /// Writes a compiled module as a precompiled module.
    pub fn serialize_module(&self, module: &ModuleArtifact<&[u8]>) -> Vec<u8> {
        let env = self.environment();
        let info = encode(&module.info);
        let groups = encode(&module.type_groups);
        let funcs: Vec<u8> = module
            .funcs
            .values()
            .flat_map(|f| {
                let mut r = [0; 8];
                r[..4].copy_from_slice(&f.wasm_call.to_le_bytes());
                r[4..].copy_from_slice(&f.array_call.unwrap_or(NO_TRAMPOLINE).to_le_bytes());
                r
            })
            .collect();
        let traps: Vec<u8> = module
            .traps
            .iter()
            .flat_map(|(offset, trap)| {
                let mut r = [0; 5];
                r[..4].copy_from_slice(&offset.to_le_bytes());
                r[4] = trap.as_u8();
                r
            })
            .collect();
        let frames = encode(&module.frames);
        let mut writer = SectionWriter::default();
        writer.add(SectionId::Environment, env.as_bytes());
        writer.add(SectionId::Info, &info);
        writer.add(SectionId::TypeGroups, &groups);
        writer.add(SectionId::Functions, &funcs);
        writer.add(SectionId::Traps, &traps);
        writer.add(SectionId::Code, module.code);
        writer.add(SectionId::Frames, &frames);
        writer.finish()
    }

    /// Reads a precompiled module written by [`Compiler::serialize_module`]
    /// of a compiler with the same [`Compiler::environment`]; the code is
    /// borrowed from `bytes`.
    ///
    /// # Errors
    ///
    /// When `bytes` is not a precompiled module, is truncated or corrupted
    /// (a checksum or a bound does not hold), or was compiled by another
    /// Trestle version, for another target or CPU, or with other
    /// code-affecting settings; the message names what differs.
    pub fn deserialize_module<'a>(
        &self,
        bytes: &'a [u8],
    ) -> Result<ModuleArtifact<&'a [u8]>, CompileError> {
        let sections = Sections::parse(bytes)?;
        let env = std::str::from_utf8(sections.get(SectionId::Environment)?)
            .map_err(|_| corrupt("environment is not text"))?;
        check_environment(env, &self.environment())?;
        let info: ModuleInfo = decode(SectionId::Info, sections.get(SectionId::Info)?)?;
        let type_groups = decode(SectionId::TypeGroups, sections.get(SectionId::TypeGroups)?)?;
        let code = sections.get(SectionId::Code)?;
        let in_code = |offset: u32, what: &str| {
            if (offset as usize) < code.len() {
                Ok(offset)
            } else {
                Err(corrupt(format!(
                    "{what} at {offset:#x} is outside the code"
                )))
            }
        };
        let funcs = records::<8>(SectionId::Functions, sections.get(SectionId::Functions)?)?
            .iter()
            .map(|r| {
                Ok(FuncLoc {
                    wasm_call: in_code(u32_at(r, 0), "a function")?,
                    array_call: match u32_at(r, 4) {
                        NO_TRAMPOLINE => None,
                        offset => Some(in_code(offset, "a trampoline")?),
                    },
                })
            })
            .collect::<Result<PrimaryMap<DefinedFuncIndex, _>, CompileError>>()?;
        let defined = info.functions.len() - info.num_imported_funcs as usize;
        if funcs.len() != defined {
            return Err(corrupt(format!(
                "{} function entries for {defined} defined functions",
                funcs.len()
            )));
        }
        // The host may enter exactly the functions that escape.
        if let Some((i, _)) = funcs
            .iter()
            .find(|(i, f)| f.array_call.is_some() != info.is_escaping(info.func_index(*i)))
        {
            return Err(corrupt(format!(
                "the entry trampoline of function {} is out of place",
                info.func_index(i).as_u32()
            )));
        }
        let traps = records::<5>(SectionId::Traps, sections.get(SectionId::Traps)?)?
            .iter()
            .map(|r| {
                let trap = Trap::from_u8(r[4]).ok_or_else(|| corrupt("unknown trap code"))?;
                Ok((in_code(u32_at(r, 0), "a trap site")?, trap))
            })
            .collect::<Result<Vec<_>, CompileError>>()?;
        let frames: FrameTable = decode(SectionId::Frames, sections.get(SectionId::Frames)?)?;
        check_frames(&frames, code.len(), funcs.len())?;
        Ok(ModuleArtifact {
            info,
            type_groups,
            funcs,
            traps,
            code,
            frames,
        })
    }
}

/// Checks that a frame table read from a file describes `code_len` bytes
/// of code the way the compiler writes one: a function per defined
/// function, bodies in increasing order inside the code, and address maps
/// inside their bodies. Backtraces walk the stack by these ranges, so a
/// range that lies would send them into memory that is not a wasm frame.
fn check_frames(frames: &FrameTable, code_len: usize, defined: usize) -> Result<(), CompileError> {
    if frames.funcs.len() != defined {
        return Err(corrupt(format!(
            "{} frame entries for {defined} defined functions",
            frames.funcs.len()
        )));
    }
    let inside = |r: &CodeRange| {
        (r.start as usize)
            .checked_add(r.len as usize)
            .is_some_and(|end| end <= code_len)
    };
    let mut previous_end = 0u64;
    for f in &frames.funcs {
        let body_end = u64::from(f.body.start) + u64::from(f.body.len);
        if !inside(&f.body)
            || !f.array_call.as_ref().is_none_or(inside)
            || u64::from(f.body.start) < previous_end
        {
            return Err(corrupt(format!(
                "the code range of function {} is out of place",
                f.func_index.as_u32()
            )));
        }
        previous_end = body_end;
        let mut map_end = 0;
        for a in &f.address_map {
            if a.start < map_end || a.end < a.start || a.end > f.body.len {
                return Err(corrupt(format!(
                    "the address map of function {} is out of place",
                    f.func_index.as_u32()
                )));
            }
            map_end = a.end;
        }
    }
    Ok(())
}

/// Compares the environment a module was compiled in with the loading
/// compiler's, naming the first line that differs.
fn check_environment(found: &str, expected: &str) -> Result<(), CompileError> {
    if found == expected {
        return Ok(());
    }
    let mismatch = |found: &str, expected: &str| {
        CompileError::new(
            CompileErrorKind::Unsupported,
            format!(
                "precompiled module is incompatible with this engine: it was compiled with \
                 `{found}`, this engine has `{expected}`"
            ),
        )
    };
    for (f, e) in found.lines().zip(expected.lines()) {
        if f == e {
            continue;
        }
        // Name the setting that differs, not the whole list.
        return Err(match (f.split_once(": "), e.split_once(": ")) {
            (Some((name, fv)), Some((en, ev))) if name == en => fv
                .split(',')
                .zip(ev.split(','))
                .find(|(a, b)| a != b)
                .map_or_else(
                    || mismatch(f, e),
                    |(a, b)| mismatch(&format!("{name}: {a}"), &format!("{name}: {b}")),
                ),
            _ => mismatch(f, e),
        });
    }
    Err(mismatch(found, expected))
}

/// Serde support for [`PrimaryMap`] fields: a sequence of the values in
/// key order.
pub(crate) mod primary_map {
    use cranelift_entity::{EntityRef, PrimaryMap};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<K: EntityRef, V: Serialize, S: Serializer>(
        map: &PrimaryMap<K, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.values())
    }

    pub(crate) fn deserialize<'de, K: EntityRef, V: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<PrimaryMap<K, V>, D::Error> {
        Ok(Vec::<V>::deserialize(deserializer)?.into_iter().collect())
    }
}
