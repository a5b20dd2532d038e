import { native } from './native';

/**
 * Instruction sets the CPU kernels come in: 'avx512' and 'avx2' on x86-64, 'neon' (Advanced
 * SIMD) on arm64; 'generic' is portable C++ for any CPU.
 */
export type Isa = 'avx512' | 'avx2' | 'neon' | 'generic';

/**
 * Sets how many threads the CPU backend uses (default: the machine's hardware threads, or
 * the RNNKIT_NUM_THREADS environment variable).
 * @throws RangeError unless `threads` is an integer in [1, 1024]
 */
export function setNumThreads(threads: number): void {
  native.setNumThreads(threads);
}

/** The number of threads the CPU backend uses. */
export function getNumThreads(): number {
  return native.getNumThreads();
}

/**
 * Selects the CPU kernels' instruction set: 'auto' (the best this CPU supports, the default
 * unless the RNNKIT_ISA environment variable says otherwise) or one of {@link supportedIsas}.
 * @throws TypeError for a name this CPU does not support
 */
export function setIsa(isa: Isa | 'auto'): void {
  native.setIsa(isa);
}

/** The instruction set the CPU kernels use now. */
export function getIsa(): Isa {
  return native.getIsa() as Isa;
}

/** Instruction sets this CPU supports, best first; always ends with 'generic'. */
export function supportedIsas(): Isa[] {
  return native.supportedIsas() as Isa[];
}

/**
 * Measures this CPU's FP32 FMA throughput in GFLOP/s: independent FMA chains held in
 * registers on `threads` threads at once, for about `seconds`.
 * @param isa the instruction set to measure; default the best supported
 */
export function measureFmaPeak(options: { threads?: number; isa?: Isa; seconds?: number } = {}): number {
  const isa = options.isa ?? supportedIsas()[0]!;
  return native.measureFmaPeak(isa, options.threads ?? getNumThreads(), options.seconds ?? 0.3);
}
