// The store with each call as a child span of the request it serves (tracing on). One decorator for
// every adapter and method, nested repositories (store.control, …) included; calls made outside a
// traced request (start-up, background work) and the per-request control version check get no span.
import { context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { Store } from '../store/store.js';

const UNTRACED = new Set(['controlVersion', 'close']);

export function traceStore(store: Store, tracer: Tracer, engine: string): Store {
  return traced(store, 'store', tracer, engine);
}

function traced<T extends object>(target: T, prefix: string, tracer: Tracer, engine: string): T {
  const members = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key, object);
      if (typeof key !== 'string' || value === null || (typeof value !== 'function' && typeof value !== 'object')) return value;
      let member = members.get(key);
      if (member === undefined) {
        member =
          typeof value === 'function'
            ? spanned(value as (...args: unknown[]) => unknown, object, `${prefix}.${key}`, tracer, engine)
            : traced(value, `${prefix}.${key}`, tracer, engine);
        members.set(key, member);
      }
      return member;
    },
  });
}

function spanned(method: (...args: unknown[]) => unknown, self: object, name: string, tracer: Tracer, engine: string) {
  const untraced = UNTRACED.has(name.slice(name.lastIndexOf('.') + 1));
  return (...args: unknown[]): unknown => {
    const parent = untraced ? undefined : trace.getSpan(context.active());
    if (!parent?.isRecording()) return method.apply(self, args);
    return tracer.startActiveSpan(name, { kind: SpanKind.INTERNAL, attributes: { 'db.system.name': engine } }, (span) => {
      const fail = (error: unknown) => {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        throw error;
      };
      try {
        const result = method.apply(self, args);
        if (!(result instanceof Promise)) {
          span.end();
          return result;
        }
        return result.then((value) => {
          span.end();
          return value;
        }, fail);
      } catch (error) {
        return fail(error);
      }
    });
  };
}
