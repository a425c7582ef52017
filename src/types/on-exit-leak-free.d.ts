// on-exit-leak-free ships no types: runs a callback at process exit for an object held weakly.
declare module 'on-exit-leak-free' {
  type Event = 'exit' | 'beforeExit';
  const onExit: {
    register<T extends object>(target: T, fn: (target: T, event: Event) => void): void;
    registerBeforeExit<T extends object>(target: T, fn: (target: T, event: Event) => void): void;
    unregister(target: object): void;
  };
  export default onExit;
}
