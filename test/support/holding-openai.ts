/**
 * A MockOpenAI that holds the next request until `release()`: a call stays in flight while the test
 * changes what it was made for (a user deleted and created again, items 295 and 297).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MockOpenAI } from './mock-openai.js';

export class HoldingOpenAI extends MockOpenAI {
  private gate: Promise<void> | undefined;
  private opened: (() => void) | undefined;
  private arrived: (() => void) | undefined;

  /** Holds the next request; resolves once it has arrived (and is held). */
  holdNext(): Promise<void> {
    this.gate = new Promise((resolve) => (this.opened = resolve));
    return new Promise((resolve) => (this.arrived = resolve));
  }

  release(): void {
    this.opened?.();
  }

  protected override async respond(request: IncomingMessage, response: ServerResponse, text: string): Promise<void> {
    const gate = this.gate;
    if (gate) {
      this.gate = undefined;
      this.arrived?.();
      await gate;
    }
    return super.respond(request, response, text);
  }
}
