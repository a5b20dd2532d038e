/**
 * The CPU paths the numeric suites run on, shared by vitest.config.ts and
 * vitest.arm64.config.ts: an instruction set at a thread count, the fused recurrence or the
 * plain per-step loop, and how the fused recurrence's threads share it.
 */

/** One CPU path. */
export interface CpuPath {
  isa: string;
  threads: number;
  fused?: boolean;
  split?: 'rows' | 'units';
}

/**
 * Every path for the given instruction sets (the best last): each at 1 and 2 threads, and on
 * every vector ISA the per-step loop, the rows split and the units split (as a team that
 * ends mid-run). `skipBest2t` leaves out the best ISA at 2 threads (the default project's).
 */
export function cpuPaths(isas: string[], skipBest2t: boolean): CpuPath[] {
  const best = isas[isas.length - 1]!;
  const vector = isas.filter((i) => i !== 'generic');
  return [
    ...isas.flatMap((isa) => [1, 2].map((threads) => ({ isa, threads }))).filter((p) => !(skipBest2t && p.isa === best && p.threads === 2)),
    ...vector.flatMap((isa) => [
      { isa, threads: 2, fused: false },
      { isa, threads: 2, split: 'rows' as const },
      { isa, threads: 2, split: 'units' as const },
    ]),
  ];
}

/** A vitest project running `include` on one CPU path. */
export function cpuPathProject({ isa, threads, fused = true, split }: CpuPath, include: string[]) {
  return {
    extends: true as const,
    test: {
      name: `${isa}-${threads}t${fused ? '' : '-steps'}${split ? `-${split}` : ''}`,
      include,
      env: {
        RNNKIT_ISA: isa,
        RNNKIT_NUM_THREADS: String(threads),
        RNNKIT_CPU_FUSED: fused ? '1' : '0',
        RNNKIT_CPU_SPLIT: split ?? 'auto',
        // The units split as a team of every thread, which ends mid-run at its 7th meeting:
        // the caller takes over a member's work as after a stall.
        ...(split === 'units' ? { RNNKIT_CPU_TEAM_ENDS_AT: '7' } : {}),
        // The suites' shapes fit one projection block: blocks of a few steps put the input
        // projection inside the fused recurrence (by rows, as a team's share, on one thread).
        ...(fused && (split || threads === 1) ? { RNNKIT_CPU_PROJECTION_STEPS: split ? '3' : '2' } : {}),
      },
      setupFiles: ['test/helpers/cpu-path.ts'],
    },
  };
}
