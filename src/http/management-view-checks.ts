/**
 * Compile-time checks that the management service's key, user and team views (built in
 * src/auth/management.ts) carry every field of the views the admin UI reads (src/http/views.ts).
 * Types only: a field dropped or retyped there fails `tsc` here, before any test runs.
 */
import type { ManagementService } from '../auth/management.js';
import type { KeyView, TeamView, UserView } from './views.js';

type Fits<Actual, Declared> = [Actual] extends [Declared] ? true : false;
/** Accepts only `true`: a view that no longer fits fails to compile here. */
type Expect<Check extends true> = Check;
type Returned<Method extends 'keyView' | 'userView' | 'teamView'> = Awaited<ReturnType<ManagementService[Method]>>;

export type ManagementViewsFit = [Expect<Fits<Returned<'keyView'>, KeyView>>, Expect<Fits<Returned<'userView'>, UserView>>, Expect<Fits<Returned<'teamView'>, TeamView>>];
