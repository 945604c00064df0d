import type { FastifyBaseLogger } from 'fastify';

type ChildArguments = Parameters<FastifyBaseLogger['child']>;
type Bindings = ChildArguments[0];
type ChildLoggerOptions = NonNullable<ChildArguments[1]>;
type Level = FastifyBaseLogger['level'];

type LogArguments = Parameters<FastifyBaseLogger['info']>;

/**
 * A request's logger (`request.log`) that makes the logger's child, with the request id bound, only when something
 * is logged. Fastify makes that child for every request; requests are not logged one by one here, so on a cached
 * page the child (pino's `child`: a new object and its bindings serialized) was work for nothing, and showed in the
 * page's profile. What is logged is the same: the child is the one Fastify would have made.
 */
export class LazyRequestLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get #logger(): FastifyBaseLogger {
    return (this.#child ??= this.parent.child(this.bindings, this.options));
  }

  get level(): Level {
    return this.#child?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: Level) {
    this.#logger.level = level;
  }

  // methods on the prototype: a request makes one small object, no closures
  fatal(...args: LogArguments): void {
    this.#logger.fatal(...args);
  }

  error(...args: LogArguments): void {
    this.#logger.error(...args);
  }

  warn(...args: LogArguments): void {
    this.#logger.warn(...args);
  }

  info(...args: LogArguments): void {
    this.#logger.info(...args);
  }

  debug(...args: LogArguments): void {
    this.#logger.debug(...args);
  }

  trace(...args: LogArguments): void {
    this.#logger.trace(...args);
  }

  silent(...args: LogArguments): void {
    this.#logger.silent(...args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger.child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`: the lazy child above. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, options);
}
