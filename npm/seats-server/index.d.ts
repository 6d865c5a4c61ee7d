/** The demo data's identifiers and credentials (`seats serve --demo`). */
export interface Demo {
  accountId: string;
  token: string;
  email: string;
  apiKey: string;
  seatUid: string;
}

export const DEMO: Demo;

export interface StartOptions {
  /** A seed file (JSON) to start from instead of the demo data. */
  seed?: string;
  /** More `seats serve` flags. */
  args?: string[];
  /** The binary to run (default: $SEATS_BINARY, else this platform's package). */
  binary?: string;
  /** Longest start-up may take (default 15000). */
  startupTimeoutMs?: number;
}

export interface JournalEntry {
  method: string;
  path: string;
  status: number;
  operation_id?: string;
  request_body?: unknown;
  response_body?: unknown;
  [field: string]: unknown;
}

export interface Seats extends Demo {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** What the official SDK takes as `baseURL`: `http://127.0.0.1:PORT/client/v4`. */
  baseURL: string;
  operatorKey: string;
  /** The server's last log lines. */
  log(): string[];
  /** Calls `/_seats/v1{path}`; the `result` of its envelope. */
  operator(method: string, path: string, body?: unknown): Promise<any>;
  /** Back to the seed: its data, no fault rules, an empty journal. */
  reset(): Promise<void>;
  journal(filters?: Record<string, string>): Promise<JournalEntry[]>;
  /** The seat edits received, oldest first; with `seatUid`, those naming that seat. */
  edits(seatUid?: string): Promise<JournalEntry[]>;
  addFault(rule: unknown): Promise<any>;
  clearFaults(): Promise<void>;
  /** Stops the server (SIGTERM, SIGKILL after 10 s) and removes its database. */
  stop(): Promise<void>;
}

/** Starts a server; rejects, quoting its last log lines, if it cannot. */
export function startSeats(options?: StartOptions): Promise<Seats>;
