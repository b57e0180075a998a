/** The power levels' names (power-levels.ts has what each one does). */
export const POWER_LEVELS = ['eco', 'balanced', 'precision', 'custom'] as const;
export type PowerLevel = (typeof POWER_LEVELS)[number];
