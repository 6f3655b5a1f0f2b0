/**
 * Imported first by the benches: the in-process doubles create their loggers when their modules
 * load, from LOG_LEVEL, and at load-test rates their per-transaction warnings (timer B/F) would
 * bury the progress lines. BENCH_LOG_LEVEL=warn brings them back.
 */
process.env.LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'error';
