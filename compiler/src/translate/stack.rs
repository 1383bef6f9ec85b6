//! The translator's two stacks: the wasm operand stack, as Cranelift
//! values ([`ValueStack`]), and the stack of enclosing blocks, loops and
//! ifs ([`ControlStack`]).
//!
//! Validation runs before each operator is translated, so the stacks never
//! underflow and a label depth always names a frame; a violation is a bug
//! in the translator and panics.

use cranelift_codegen::ir::{Block, Value};

/// The operand stack: each wasm value is one Cranelift value.
#[derive(Default)]
pub(crate) struct ValueStack {
    values: Vec<Value>,
}

impl ValueStack {
    pub(crate) fn push(&mut self, v: Value) {
        self.values.push(v);
    }

    pub(crate) fn pop(&mut self) -> Value {
        self.values
            .pop()
            .expect("validated: operand stack underflow")
    }

    /// Pops two values, returned in push order.
    pub(crate) fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    /// Pops three values, returned in push order.
    pub(crate) fn pop3(&mut self) -> (Value, Value, Value) {
        let c = self.pop();
        let (a, b) = self.pop2();
        (a, b, c)
    }

    /// The value on top.
    pub(crate) fn top(&self) -> Value {
        *self
            .values
            .last()
            .expect("validated: operand stack underflow")
    }

    /// The top `n` values, in push order.
    pub(crate) fn top_n(&self, n: usize) -> &[Value] {
        &self.values[self.values.len() - n..]
    }

    /// Removes the top `n` values.
    pub(crate) fn drop_n(&mut self, n: usize) {
        self.values.truncate(self.values.len() - n);
    }

    pub(crate) fn height(&self) -> usize {
        self.values.len()
    }

    /// Replaces everything above `height` with `values`.
    pub(crate) fn reset_to(&mut self, height: usize, values: &[Value]) {
        self.values.truncate(height);
        self.values.extend_from_slice(values);
    }

    pub(crate) fn extend(&mut self, values: &[Value]) {
        self.values.extend_from_slice(values);
    }
}

/// One enclosing construct: the function body, a block, a loop or an if.
pub(crate) struct ControlFrame {
    pub kind: ControlKind,
    /// The block that follows the construct; its params are the results.
    pub next: Block,
    /// Operand stack height below the construct's parameters.
    pub height: usize,
    pub num_params: usize,
    pub num_results: usize,
    /// Whether some branch targets `next` (so code after `end` is
    /// reachable even when the end of the body is not).
    pub exit_reached: bool,
}

/// What kind of construct a [`ControlFrame`] is.
pub(crate) enum ControlKind {
    /// The function body or a `block`.
    Block,
    /// A `loop`; branches go back to `header`.
    Loop { header: Block },
    /// A `try_table`; branches go to the end, and the calls inside are
    /// `try_call`s to its handlers (see [`super::env::Catch`]).
    TryTable,
    /// An `if`; branches go to the end.
    If {
        /// The else block (whose params are the block type's params),
        /// `None` once `else` was seen.
        else_block: Option<Block>,
    },
}

impl ControlFrame {
    /// The block a branch to this frame jumps to, and how many values it
    /// takes.
    pub(crate) fn branch_target(&self) -> (Block, usize) {
        match self.kind {
            ControlKind::Loop { header } => (header, self.num_params),
            _ => (self.next, self.num_results),
        }
    }
}

/// The enclosing constructs, innermost last; the outermost is the function
/// body, whose `next` block returns.
pub(crate) struct ControlStack {
    frames: Vec<ControlFrame>,
}

impl ControlStack {
    /// A stack holding only the function body's frame.
    pub(crate) fn new(body: ControlFrame) -> Self {
        Self { frames: vec![body] }
    }

    pub(crate) fn push(&mut self, frame: ControlFrame) {
        self.frames.push(frame);
    }

    pub(crate) fn pop(&mut self) -> ControlFrame {
        self.frames
            .pop()
            .expect("validated: control stack underflow")
    }

    /// The innermost frame.
    pub(crate) fn innermost_mut(&mut self) -> &mut ControlFrame {
        self.frames
            .last_mut()
            .expect("validated: control stack underflow")
    }

    /// The depth of the function body's frame, the target of `return`.
    pub(crate) fn function_depth(&self) -> u32 {
        self.frames.len() as u32 - 1
    }

    /// The frame a branch of relative depth `depth` targets.
    pub(crate) fn frame(&self, depth: u32) -> &ControlFrame {
        &self.frames[self.frames.len() - 1 - depth as usize]
    }

    /// The block a branch of relative depth `depth` jumps to and how many
    /// values it takes, recording that the frame's exit is reached (unless
    /// it is a loop, whose branches go back to its header).
    pub(crate) fn branch_target_mut(&mut self, depth: u32) -> (Block, usize) {
        let i = self.frames.len() - 1 - depth as usize;
        let frame = &mut self.frames[i];
        if !matches!(frame.kind, ControlKind::Loop { .. }) {
            frame.exit_reached = true;
        }
        frame.branch_target()
    }
}
