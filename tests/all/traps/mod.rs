//! How a call ends when it cannot return: every trap kind is an error with
//! its spec message and the store survives; a host function's error comes
//! back to the caller as it was; a host panic, from a host function or a
//! `ResourceLimiter` asked by `table.grow`, `memory.grow` or
//! instantiation, reaches the caller as a panic with its payload, never an
//! abort, and leaves nothing half made.

mod host;
mod kinds;
