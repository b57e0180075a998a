import type { Deployment } from '../../providers/types.js';
import type { UsageWindow } from '../../state/router-state.js';
import type { DeploymentStats } from '../deployment-stats.js';

export type RandomSource = () => number;

export interface StrategyInput {
  stream: boolean;
  random: RandomSource;
  stats: DeploymentStats;
  /** Current-minute usage, loaded only for strategies that need it. */
  usage?: Map<string, UsageWindow>;
  /** Latency-based routing: deployments within (1 + buffer) × the fastest share the load. */
  latencyBuffer: number;
}

/** Orders one priority tier's healthy deployments, best first. */
export type Strategy = (deployments: Deployment[], input: StrategyInput) => Deployment[];
