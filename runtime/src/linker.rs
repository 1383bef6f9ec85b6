//! [`Linker`]: named definitions, resolved by import name at instantiation.

use crate::func::{HostCall, IntoFunc};
use crate::{AsContextMut, Engine, Extern, Func, Instance, Module};
use anyhow::{Result, bail};
use std::collections::HashMap;
use std::sync::Arc;
use trestle_compiler::WasmFuncType;

enum Definition<T> {
    /// An item of one store.
    Extern(Extern),
    /// A host function not yet tied to a store: made into a [`Func`] in each
    /// store it is instantiated into.
    HostFunc(Arc<WasmFuncType>, HostCall<T>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(*e),
            Definition::HostFunc(t, c) => Definition::HostFunc(t.clone(), c.clone()),
        }
    }
}

/// Definitions by module and field name, used to satisfy imports.
///
/// ```
/// use trestle::{Engine, Linker, Module, Store};
/// let engine = Engine::default();
/// let mut linker = Linker::<u32>::new(&engine);
/// linker.func_wrap("host", "bump", |mut caller: trestle::Caller<'_, u32>| {
///     *caller.data_mut() += 1;
/// })?;
/// let module = Module::new(&engine, r#"(module
///     (import "host" "bump" (func $bump))
///     (func (export "run") call $bump call $bump))"#)?;
/// let mut store = Store::new(&engine, 0);
/// let instance = linker.instantiate(&mut store, &module)?;
/// instance.get_typed_func::<(), ()>(&mut store, "run")?.call(&mut store, ())?;
/// assert_eq!(*store.data(), 2);
/// # Ok::<(), trestle::Error>(())
/// ```
pub struct Linker<T> {
    engine: Engine,
    map: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
}

impl<T> std::fmt::Debug for Linker<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linker")
            .field("definitions", &self.map.len())
            .finish()
    }
}

impl<T> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            map: self.map.clone(),
            allow_shadowing: self.allow_shadowing,
        }
    }
}

impl<T: 'static> Linker<T> {
    /// An empty linker for `engine`.
    pub fn new(engine: &Engine) -> Self {
        Self {
            engine: engine.clone(),
            map: HashMap::new(),
            allow_shadowing: false,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether a definition may replace an earlier one of the same name.
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition<T>) -> Result<()> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.map.contains_key(&key) {
            bail!("`{module}::{name}` is already defined");
        }
        self.map.insert(key, def);
        Ok(())
    }

    /// Defines `module::name` as `item`.
    ///
    /// # Errors
    ///
    /// When the name is already defined and shadowing is not allowed.
    pub fn define(
        &mut self,
        _store: impl crate::AsContext<Data = T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        self.insert(module, name, Definition::Extern(item.into()))?;
        Ok(self)
    }

    /// Defines `module::name` as a host function made from a closure.
    ///
    /// # Errors
    ///
    /// When the name is already defined and shadowing is not allowed.
    pub fn func_wrap<Params, Args>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Args>,
    ) -> Result<&mut Self> {
        let (ty, call) = func.into_host_call();
        self.insert(module, name, Definition::HostFunc(ty, call))?;
        Ok(self)
    }

    /// Defines every export of `instance` under `module`.
    ///
    /// # Errors
    ///
    /// When a name is already defined and shadowing is not allowed.
    ///
    /// # Panics
    ///
    /// When the instance belongs to another store.
    pub fn instance(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        let exports: Vec<(String, Extern)> = instance
            .exports(store.as_context_mut())
            .map(|e| (e.name().to_string(), e.into_extern()))
            .collect();
        for (name, ext) in exports {
            self.insert(module, &name, Definition::Extern(ext))?;
        }
        Ok(self)
    }

    /// Instantiates `module` and defines its exports under `name`.
    ///
    /// # Errors
    ///
    /// When instantiation fails or a name is already defined.
    pub fn module(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        name: &str,
        module: &Module,
    ) -> Result<&mut Self> {
        let instance = self.instantiate(&mut store, module)?;
        self.instance(store, name, instance)
    }

    /// The definition of `module::name`, made into an item of `store`.
    pub fn get(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        let def = self.map.get(&(module.to_string(), name.to_string()))?;
        Some(match def {
            Definition::Extern(e) => *e,
            Definition::HostFunc(ty, call) => Extern::Func(Func::new_raw(
                store.as_context_mut().0,
                ty.clone(),
                call.clone(),
            )),
        })
    }

    /// Instantiates `module`, resolving each import by name.
    ///
    /// # Errors
    ///
    /// When an import is not defined, or instantiation fails (see
    /// [`Instance::new`]).
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let mut imports = Vec::with_capacity(module.imports().len());
        for import in module.imports() {
            match self.get(&mut store, import.module(), import.name()) {
                Some(e) => imports.push(e),
                None => bail!(
                    "unknown import: `{}::{}` has not been defined",
                    import.module(),
                    import.name()
                ),
            }
        }
        Instance::new(store, module, &imports)
    }
}
