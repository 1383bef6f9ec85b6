//! [`Trap`]: the one list of trap codes, shared by compiler and runtime.

use core::fmt;

/// Why WebAssembly execution stopped abnormally.
///
/// The `Display` strings are the messages the WebAssembly spec tests expect.
/// A trap is encoded as one byte ([`Trap::as_u8`]) in the compiler's trap
/// tables and in the `raise_trap` libcall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum Trap {
    /// The wasm stack grew past `Config::max_wasm_stack`.
    StackOverflow = 1,
    /// A load or store outside the bounds of a linear memory, or a bulk memory
    /// operation out of bounds.
    MemoryOutOfBounds,
    /// An access outside the bounds of a table.
    TableOutOfBounds,
    /// `call_indirect` with an index outside the table.
    UndefinedElement,
    /// `call_indirect` through a null entry.
    IndirectCallToNull,
    /// `call_indirect` to a function of another type.
    BadSignature,
    /// Integer overflow in division or float-to-int conversion.
    IntegerOverflow,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// Float-to-int conversion of a NaN.
    BadConversionToInteger,
    /// The `unreachable` instruction was executed.
    UnreachableCodeReached,
    /// Execution was interrupted by epoch interruption.
    Interrupt,
    /// The store ran out of fuel.
    OutOfFuel,
    /// A null reference was dereferenced.
    NullReference,
    /// `call_ref` of a null function reference.
    NullFunctionReference,
}

impl Trap {
    /// Every trap code.
    pub const ALL: &'static [Trap] = &[
        Trap::StackOverflow,
        Trap::MemoryOutOfBounds,
        Trap::TableOutOfBounds,
        Trap::UndefinedElement,
        Trap::IndirectCallToNull,
        Trap::BadSignature,
        Trap::IntegerOverflow,
        Trap::IntegerDivisionByZero,
        Trap::BadConversionToInteger,
        Trap::UnreachableCodeReached,
        Trap::Interrupt,
        Trap::OutOfFuel,
        Trap::NullReference,
        Trap::NullFunctionReference,
    ];

    /// The one-byte encoding (never zero).
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Decodes [`Trap::as_u8`]; `None` for a byte that is no trap.
    pub fn from_u8(byte: u8) -> Option<Trap> {
        Trap::ALL.iter().copied().find(|t| t.as_u8() == byte)
    }

    /// The spec's message for this trap.
    pub const fn message(self) -> &'static str {
        match self {
            Trap::StackOverflow => "call stack exhausted",
            Trap::MemoryOutOfBounds => "out of bounds memory access",
            Trap::TableOutOfBounds => "out of bounds table access",
            Trap::UndefinedElement => "undefined element",
            Trap::IndirectCallToNull => "uninitialized element",
            Trap::BadSignature => "indirect call type mismatch",
            Trap::IntegerOverflow => "integer overflow",
            Trap::IntegerDivisionByZero => "integer divide by zero",
            Trap::BadConversionToInteger => "invalid conversion to integer",
            Trap::UnreachableCodeReached => "unreachable",
            Trap::Interrupt => "interrupt",
            Trap::OutOfFuel => "all fuel consumed by WebAssembly",
            Trap::NullReference => "null reference",
            Trap::NullFunctionReference => "null function reference",
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for Trap {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn byte_encoding_round_trips() {
        for &t in Trap::ALL {
            assert_ne!(t.as_u8(), 0);
            assert_eq!(Trap::from_u8(t.as_u8()), Some(t));
        }
        assert_eq!(Trap::from_u8(0), None);
        assert_eq!(Trap::from_u8(200), None);
    }

    #[test]
    fn messages_are_the_spec_messages() {
        assert_eq!(
            Trap::BadSignature.to_string(),
            "indirect call type mismatch"
        );
        assert_eq!(Trap::UnreachableCodeReached.to_string(), "unreachable");
    }
}
