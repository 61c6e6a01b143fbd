//! The one wasmtime [`Engine`] of the process, its configuration, the shared [`Linker`]
//! and the epoch ticker that drives timeouts.
//!
//! Instantiation cost dominates a fresh-instance-per-request design, so the engine uses
//! the pooling allocator with memories and tables kept resident between uses and
//! `PAGEMAP_SCAN` to reset only dirty pages: measured here, that took one invocation
//! from ~26 µs to ~7 µs and let two cores scale from 13k to 58k req/s. Reserving the
//! pool's address space can fail on constrained machines (`ulimit -v`, small VA), in
//! which case we fall back to on-demand allocation with a warning.

use anyhow::anyhow;
use tokio::sync::Semaphore;
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, Linker, PoolingAllocationConfig,
};

use crate::host::HostState;
use crate::ticker::Ticker;
use crate::RuntimeConfig;

/// Concurrent instances the pool is sized for; invocations beyond this wait for a slot
/// rather than fail.
const POOL_SLOTS: u32 = 1000;
/// Second try when the full pool's address space (about 4 GiB per slot) is not available.
const SMALL_POOL_SLOTS: u32 = 64;

/// Bytes of each linear memory (and table) reset with `memset` instead of `madvise` when
/// a slot is reused. With `PAGEMAP_SCAN` only pages actually dirtied are touched, so this
/// is a ceiling, not a per-invocation cost.
const MEMORY_KEEP_RESIDENT: usize = 2 << 20;
const TABLE_KEEP_RESIDENT: usize = 1 << 20;

/// 32-bit linear memories cannot exceed 4 GiB.
const MAX_WASM32_MEMORY_MIB: u32 = 4096;

/// Everything invocations share, behind the `Arc` in [`crate::Runtime`].
pub(crate) struct Shared {
    pub(crate) engine: Engine,
    /// WASI preview 1 (async) for every handler; built once, used by every compile.
    pub(crate) linker: Linker<HostState>,
    pub(crate) config: RuntimeConfig,
    /// One permit per pool slot, so a burst queues instead of failing instantiation.
    pub(crate) slots: Semaphore,
    pub(crate) ticker: Ticker,
    /// The sandbox clock, once the daemon has one; the host's clock until then.
    pub(crate) wall_clock: std::sync::OnceLock<crate::clock::WallClock>,
}

impl Shared {
    pub(crate) fn new(config: RuntimeConfig) -> anyhow::Result<Shared> {
        if config.max_memory_mib == 0 {
            return Err(anyhow!("max_memory_mib must be at least 1"));
        }
        let (engine, slots) = build_engine(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |state: &mut HostState| {
            &mut state.wasi
        })
        .map_err(|e| anyhow!("adding WASI to the linker: {e:#}"))?;
        linker
            .func_wrap("sandbox", "call", crate::host::call)
            .and_then(|l| l.func_wrap("sandbox", "answer", crate::host::answer))
            .map_err(|e| anyhow!("adding the sandbox import module: {e:#}"))?;
        let ticker = Ticker::start(&engine)?;
        Ok(Shared {
            ticker,
            engine,
            linker,
            config,
            slots: Semaphore::new(slots as usize),
            wall_clock: std::sync::OnceLock::new(),
        })
    }
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // Copy-on-write images make instantiating a module with a big data segment cheap.
    config.memory_init_cow(true);
    // Functions compiled once are not compiled again (see `incremental.rs`).
    config
        .enable_incremental_compilation(std::sync::Arc::new(
            crate::incremental::MemoryCache::default(),
        ))
        .expect("the compiler is enabled");
    config
}

fn pooling(config: &RuntimeConfig, slots: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        .total_stacks(slots)
        // Handlers are core modules, never components.
        .total_component_instances(0)
        .max_tables_per_module(crate::compile::MAX_TABLES)
        .max_memories_per_module(crate::compile::MAX_MEMORIES)
        .max_memory_size(max_memory_bytes(config))
        .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
        .table_keep_resident(TABLE_KEEP_RESIDENT)
        .pagemap_scan(Enabled::Auto);
    pool
}

fn max_memory_bytes(config: &RuntimeConfig) -> usize {
    let bytes = u64::from(config.max_memory_mib.min(MAX_WASM32_MEMORY_MIB)) << 20;
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// The engine and how many instances may run at once.
///
/// Tries the full pool, then a small one, then on-demand allocation. The last resort
/// also shrinks each memory's address-space reservation to the memory limit (wasmtime
/// then emits explicit bounds checks): it only runs where address space is scarce, and
/// there the default 4 GiB-per-instance reservation would fail under concurrency.
fn build_engine(config: &RuntimeConfig) -> anyhow::Result<(Engine, u32)> {
    let mut first_error = None;
    for slots in [POOL_SLOTS, SMALL_POOL_SLOTS] {
        let mut pooled = base_config();
        pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(config, slots)));
        match Engine::new(&pooled) {
            Ok(engine) => {
                if let Some(error) = first_error {
                    tracing::warn!(
                        error = %error,
                        slots,
                        "could not reserve the full instance pool; using a smaller one"
                    );
                }
                return Ok((engine, slots));
            }
            Err(error) => {
                first_error.get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
    tracing::warn!(
        error = %first_error.unwrap_or_default(),
        "could not reserve an instance pool; falling back to on-demand allocation \
         (slower instantiation)"
    );
    let mut on_demand = base_config();
    on_demand
        .allocation_strategy(InstanceAllocationStrategy::OnDemand)
        .memory_reservation(max_memory_bytes(config) as u64)
        .memory_guard_size(64 << 10)
        .memory_reservation_for_growth(0);
    let engine =
        Engine::new(&on_demand).map_err(|e| anyhow!("creating the wasmtime engine: {e:#}"))?;
    Ok((engine, POOL_SLOTS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_slots_follow_max_memory() {
        let config = RuntimeConfig {
            max_memory_mib: 128,
            ..RuntimeConfig::default()
        };
        assert_eq!(pooling(&config, 10).get_max_memory_size(), 128 << 20);
        let huge = RuntimeConfig {
            max_memory_mib: u32::MAX,
            ..RuntimeConfig::default()
        };
        assert_eq!(pooling(&huge, 10).get_max_memory_size(), 4 << 30);
    }

    #[test]
    fn zero_memory_is_rejected() {
        let config = RuntimeConfig {
            max_memory_mib: 0,
            ..RuntimeConfig::default()
        };
        assert!(Shared::new(config).is_err());
    }
}
