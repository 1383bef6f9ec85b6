//! The operator families: each file translates one kind of operator,
//! following the grouping of the WebAssembly specification.
//!
//! Every family is a method on the body translator that returns whether the
//! operator was one of its own ([`super::Handled`] when it can fail); the
//! dispatch in [`super`] tries them in turn. Operands come from and results
//! go to the [`super::stack::ValueStack`]; what lives in the instance is
//! reached through [`super::env::FuncEnvironment`].

pub(super) mod call;
pub(super) mod control;
pub(super) mod exception;
pub(super) mod memory;
pub(super) mod numeric;
pub(super) mod reference;
pub(super) mod table;
pub(super) mod variable;
pub(super) mod vector;
