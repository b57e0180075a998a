/**
 * The error an SDK call fails with, checked to be of the SDK's class for the status expected
 * (`OpenAI.BadRequestError`, `OpenAI.PermissionDeniedError`, …); a call that succeeds fails the test.
 */
import { expect } from 'vitest';

export async function sdkError<T extends Error>(call: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(type);
  return error as T;
}
