// Fault injection (`/__admin/faults`, `serve --faults`): an admission step every authenticated API
// request passes after its token is verified and before it is authorized, so a faulted request
// changes no data. The rules live in the store (shared by every process); each process keeps its
// parsed copy in step through ControlState. Which call fails is decided by fault-rules.ts from the
// rule's shared match counter, so it is the same in every process and every run.
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { ConfigError } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import type { DirectoryRepository } from '../domain/ports.js';
import type { AdmissionStep } from '../http/authenticate.js';
import { graphErrors } from '../http/graph-errors.js';
import { decode } from '../http/odata-path.js';
import type { ControlState } from './control-state.js';
import { ActiveFaultRule, type FaultResponse, type FaultRule, type FaultSubject, parseFaultRule, type StoredFaultRule } from './fault-rules.js';
import type { ControlRecord, ControlRepository } from './ports.js';

export interface FaultInjectorDeps {
  control: ControlRepository;
  directory: DirectoryRepository;
  state: ControlState;
  /** The server's virtual clock: rule windows (`from`/`until`) are on it. */
  clock: Clock;
}

// The user an application addresses: /{version}/users/{id or UPN}/…
const ADDRESSED_USER = /^\/[^/]+\/users\/([^/]+)/i;

/** A response that replaces the server's (a delay only postpones it). */
type Answer = Exclude<FaultResponse, { delayMs: number }>;

/** Thrown after a dropped connection so that nothing further runs for the request. */
class ConnectionDropped extends Error {}

export class FaultInjector {
  private rules: ActiveFaultRule[] = [];
  private readonly sleepers = new Set<() => void>();
  private closing = false;

  constructor(private readonly deps: FaultInjectorDeps) {
    deps.state.subscribe((record) => this.load(record));
    if (deps.state.current) this.load(deps.state.current);
  }

  /** The rules in the order they were added. */
  list(): StoredFaultRule[] {
    return this.rules.map((rule) => rule.stored);
  }

  find(id: string): StoredFaultRule | undefined {
    return this.rules.find((rule) => rule.id === id)?.stored;
  }

  async add(rule: FaultRule): Promise<StoredFaultRule> {
    const id = randomUUID();
    await this.deps.control.addFault(id, JSON.stringify(rule));
    await this.deps.state.changed();
    return { id, ...rule };
  }

  /** False when there was no such rule. */
  async remove(id: string): Promise<boolean> {
    const removed = await this.deps.control.deleteFault(id);
    await this.deps.state.changed();
    return removed;
  }

  async clear(): Promise<void> {
    await this.deps.control.clearFaults();
    await this.deps.state.changed();
  }

  /**
   * `serve --faults FILE`: a JSON array of rules. Each gets an id derived from its text and place in
   * the file and is added only when absent, so processes started with the same file share one copy.
   */
  async loadFile(path: string): Promise<void> {
    const rules = parseFaultsFile(path, await readFaultsFile(path));
    for (const [index, rule] of rules.entries()) {
      const text = JSON.stringify(rule);
      const id = `file-${createHash('sha256').update(`${index}\n${text}`).digest('hex').slice(0, 24)}`;
      await this.deps.control.addFault(id, text);
    }
    await this.deps.state.changed();
  }

  /** The admission step: counts the request against every matching rule, then delays or answers. */
  readonly step: AdmissionStep = async (request, reply, principal) => {
    if (this.rules.length === 0) return;
    const matching = await this.matchingRules(request, principal);
    if (matching.length === 0) return;
    const counts = await Promise.all(matching.map((rule) => this.deps.control.countFaultMatch(rule.id)));
    let delayMs = 0;
    let delayedBy: ActiveFaultRule | undefined;
    let answeredBy: { rule: ActiveFaultRule; respond: Answer } | undefined;
    for (const [index, rule] of matching.entries()) {
      const n = counts[index];
      // undefined: the rule was deleted meanwhile.
      if (n === undefined || !rule.fires(n)) continue;
      if (rule.exhaustedAt(n)) await this.retire(rule.id);
      const respond = rule.rule.respond;
      if ('delayMs' in respond) {
        delayMs += respond.delayMs;
        delayedBy ??= rule;
      } else answeredBy ??= { rule, respond };
    }
    const shown = answeredBy?.rule ?? delayedBy;
    if (shown) request.fault = { ruleId: shown.id, respond: { ...shown.rule.respond } };
    if (delayMs > 0 && !this.closing) await this.sleep(delayMs);
    if (answeredBy) answer(request, reply, answeredBy.respond);
  };

  /** The server is closing: delays end now (and no new ones start), so those requests finish. */
  close() {
    this.closing = true;
    for (const wake of [...this.sleepers]) wake();
  }

  private async matchingRules(request: FastifyRequest, principal: Principal): Promise<ActiveFaultRule[]> {
    const subject: FaultSubject = {
      method: request.method,
      path: requestPath(request.originalUrl),
      tenant: principal.tenantId,
      app: principal.appId,
    };
    const now = this.deps.clock.now();
    let users: Promise<string[]> | undefined;
    const matching: ActiveFaultRule[] = [];
    for (const rule of this.rules) {
      if (!rule.matches(subject, now)) continue;
      if (rule.needsUser && !rule.matchesUser(await (users ??= this.usersOf(principal, subject.path)))) continue;
      matching.push(rule);
    }
    return matching;
  }

  /**
   * Who a rule's `user` may name, lower-case: a delegated caller's object id and UPN; for an
   * application, the user its path addresses, as written and as the directory knows it.
   */
  private async usersOf(principal: Principal, path: string): Promise<string[]> {
    const names: (string | null)[] = [];
    if (principal.kind === 'delegated') names.push(principal.userId, principal.userPrincipalName);
    else {
      const ref = ADDRESSED_USER.exec(path)?.[1];
      if (ref !== undefined) {
        const user = await this.deps.directory.findUser(principal.tenantId, ref);
        names.push(ref, user?.id ?? null, user?.userPrincipalName ?? null);
      }
    }
    return names.filter((name): name is string => name !== null).map((name) => name.toLowerCase());
  }

  /** A rule whose `count` is used up is deleted; if that fails it stays, firing no more. */
  private async retire(id: string) {
    try {
      await this.deps.control.deleteFault(id);
      await this.deps.state.changed();
    } catch {
      // Its decisions already say "no" from here on.
    }
  }

  private load(record: ControlRecord) {
    const previous = new Map(this.rules.map((rule) => [rule.id, rule]));
    const rules: ActiveFaultRule[] = [];
    for (const { id, rule: text } of record.faults) {
      // An id never names another rule (ids are random or hash the rule): keep its firing-history cache.
      const known = previous.get(id);
      if (known) {
        rules.push(known);
        continue;
      }
      try {
        rules.push(new ActiveFaultRule(id, parseFaultRule(JSON.parse(text))));
      } catch {
        // Only rules this code validated are stored; one it cannot read (another version's) is skipped.
      }
    }
    this.rules = rules;
  }

  /** At least `ms` (a timer alone may fire a little early: it counts from the event loop's cached time). */
  private sleep(ms: number): Promise<void> {
    const until = performance.now() + ms;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout;
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const check = () => {
        const left = until - performance.now();
        if (left > 0) timer = setTimeout(check, Math.ceil(left));
        else wake();
      };
      this.sleepers.add(wake);
      check();
    });
  }
}

/** The path as a rule's `path` sees it: with its version, without the query, decoded, no empty segments. */
export function requestPath(url: string): string {
  const queryStart = url.indexOf('?');
  const path = decode(queryStart < 0 ? url : url.slice(0, queryStart));
  return path.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');
}

function answer(request: FastifyRequest, reply: FastifyReply, respond: Answer): never {
  if ('drop' in respond) {
    const socket = request.raw.socket;
    // A $batch item has no connection of its own (it is injected): it times out instead.
    if (!(socket instanceof Socket)) throw graphErrors.gatewayTimeout();
    reply.hijack();
    socket.destroy();
    // The access log never sees a request without an answer: say what happened to it.
    request.log.info({ method: request.method, url: request.url, fault: request.fault }, 'connection dropped by a fault rule');
    // With the reply hijacked, Fastify runs nothing more for this request (no handler, no error reply).
    throw new ConnectionDropped('connection dropped by a fault rule');
  }
  switch (respond.status) {
    case 429:
      throw graphErrors.tooManyRequests(respond.retryAfter);
    case 503:
      throw graphErrors.unavailable(respond.retryAfter);
    case 500:
      throw graphErrors.internal();
    case 502:
      throw graphErrors.badGateway();
    case 504:
      throw graphErrors.gatewayTimeout();
  }
}

async function readFaultsFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`--faults ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

function parseFaultsFile(path: string, text: string): FaultRule[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`--faults ${path}: not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(raw)) throw new ConfigError(`--faults ${path}: expected a JSON array of fault rules`);
  return raw.map((rule, index) => {
    try {
      return parseFaultRule(rule);
    } catch (error) {
      throw new ConfigError(`--faults ${path}: rule [${index}]: ${(error as Error).message}`);
    }
  });
}
