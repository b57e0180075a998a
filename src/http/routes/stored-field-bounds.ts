/**
 * zod types for the strings the management and platform APIs store (ids, aliases, model lists,
 * metadata): each has a length limit, so no admin body or leaked admin key can grow the principal
 * tables by megabytes a row. The limits are generous for real names and documented in the README.
 */
import { z } from 'zod';

export const STORED_FIELD_BOUNDS = {
  /** key_alias, user_id, team_id, user_alias, team_alias, user_email, tier, model names. */
  nameChars: 256,
  /** Entries in a `models` list, in a key's `aliases`, in `members_with_roles`. */
  listEntries: 256,
  /** `metadata`, serialized as JSON, in UTF-8 bytes. */
  metadataBytes: 16_384,
  /** Durations ("30d"). */
  durationChars: 32,
  /** A provider API key stored for bring-your-own-key. */
  secretChars: 4_096,
  /** rpm, tpm and parallel-request limits: the largest value a PostgreSQL `integer` column holds. */
  limitMax: 2_147_483_647,
} as const;

const { nameChars, listEntries, metadataBytes, durationChars, limitMax } = STORED_FIELD_BOUNDS;

/** An rpm / tpm / parallel-request limit: a whole number from 0 to 2^31 - 1, or null / absent. */
export const storedLimit = () =>
  z.number({ invalid_type_error: 'expected a whole number' }).int().nonnegative().max(limitMax, `must be at most ${limitMax}`).nullable().optional();

/** A stored name: at most 256 characters. */
export const storedName = () => z.string().max(nameChars, `must be at most ${nameChars} characters`);

export const storedDuration = () => z.string().max(durationChars, `must be at most ${durationChars} characters (like "30d")`);

export const storedNameList = () => z.array(storedName().min(1, 'must not be empty')).max(listEntries, `must have at most ${listEntries} entries`);

/** `metadata`: any JSON object up to 16 KiB. */
export const storedMetadata = () =>
  z.record(z.unknown()).refine((value) => Buffer.byteLength(JSON.stringify(value)) <= metadataBytes, `must be at most ${metadataBytes} bytes as JSON`);

/** A key's aliases: up to 256 entries, names and targets up to 256 characters. */
export const storedAliases = () =>
  z
    .record(storedName())
    .refine((value) => Object.keys(value).length <= listEntries, `must have at most ${listEntries} entries`)
    .refine((value) => Object.keys(value).every((name) => name.length <= nameChars), `alias names must be at most ${nameChars} characters`);
