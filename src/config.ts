/**
 * Configuration: the only module that reads `process.env`.
 *
 * Every variable is validated once, every problem is reported together, and the result is a
 * frozen object. Names match the ones existing deployments already use.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { Cron } from 'croner';
import { isGuid } from './ids.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LOG_FORMATS = ['json', 'pretty'] as const;

export interface ThreatLockerConfig {
  /** As configured; the client adds `/portalapi` when missing (`src/vendors/base-url.ts`). */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly organizationId: string | undefined;
  readonly timeoutMs: number;
}

export interface NinjaConfig {
  /** Regional host, e.g. https://app.ninjarmm.com; the client drops `/api`, `/v2` (`src/vendors/base-url.ts`). */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Optional: use the refresh-token grant (rotated tokens are stored in the database). */
  readonly refreshToken: string | undefined;
  readonly timeoutMs: number;
}

export interface CollectorConfig {
  /** Refuse a collection whose fleet shrank by more than this (percent) unless forced. */
  readonly maxDropPercent: number;
  readonly retentionDays: number;
  readonly schedulerEnabled: boolean;
  readonly cron: { readonly threatlocker: string; readonly ninja: string; readonly retention: string };
  readonly heartbeatMs: number;
  readonly staleAfterMs: number;
}

/** Settings of the variance checks (src/variances/run.ts hands them to the rules). */
export interface VarianceConfig {
  /** A device not seen for more than this many days is stale: never reported missing. */
  readonly staleDays: number;
  /** NinjaOne locations whose spare devices may keep ThreatLocker (matched case-insensitively). */
  readonly spareAllowedLocations: readonly string[];
}

/** Who may call the API (docs/api.md, "Authentication"). */
export interface SecurityConfig {
  /** `required`: every route but the public ones needs a key or session; `open`: anyone may call. */
  readonly authMode: 'required' | 'open';
  /** AUTH_MODE was set (not derived from HOST): an explicit `open` off loopback is warned about at every start. */
  readonly authModeExplicit: boolean;
  /** HOST is a loopback address (127.0.0.0/8, ::1, localhost). */
  readonly loopback: boolean;
  /** GET /metrics without a key (METRICS_OPEN=true). */
  readonly metricsOpen: boolean;
  /** Requests a minute per key (per client address in open mode) on every limited route … */
  readonly rateLimitPerMin: number;
  /** … and on sync-device and update-name, which call the vendor. */
  readonly rateLimitSyncPerMin: number;
  /** Origins allowed by CORS; empty: CORS off (no Access-Control-* headers). */
  readonly corsOrigins: readonly string[];
  /** Fastify's trustProxy: false, true, a hop count, or addresses/CIDRs of the proxies. */
  readonly trustProxy: boolean | number | readonly string[];
}

export interface Config {
  readonly port: number;
  readonly host: string;
  /** `undefined` → embedded PGlite under `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** IANA zone that defines the business day ("today") for snapshot dates. */
  readonly timeZone: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** LOG_FORMAT; `undefined`: readable lines on a terminal, JSON otherwise (src/logger.ts). */
  readonly logFormat: (typeof LOG_FORMATS)[number] | undefined;
  /**
   * True when no vendor is configured at all (neither THREATLOCKER_API_KEY nor NinjaOne's
   * client): `serve` then runs demo mode against simulated vendors. One vendor configured is a
   * real deployment of that vendor alone.
   */
  readonly demo: boolean;
  /** `undefined` when ThreatLocker is not configured (its routes answer HUB_ERR_VENDOR_NOT_CONFIGURED). */
  readonly threatlocker: ThreatLockerConfig | undefined;
  /** Timeout used for the vendor client in demo mode and whenever no key is configured. */
  readonly threatlockerTimeoutMs: number;
  /** `undefined` when NinjaOne is not configured (no NinjaOne collector). */
  readonly ninja: NinjaConfig | undefined;
  readonly ninjaTimeoutMs: number;
  /** Total time a sync-device or update-name request may take, end to end (vendor retries included). */
  readonly syncDeadlineMs: number;
  readonly collectors: CollectorConfig;
  readonly variances: VarianceConfig;
  readonly security: SecurityConfig;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}


/** Empty strings in the environment mean "unset" (a common artefact of `.env` templates). */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const intInRange = (name: string, min: number, max: number, fallback: number) =>
  optionalString.transform((v, ctx) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `${name} must be an integer from ${min} to ${max}, got "${v}"` });
      return z.NEVER;
    }
    return n;
  });

const httpUrl = (name: string, example: string) =>
  optionalString.refine((v) => {
    if (v === undefined) return true;
    try {
      return ['https:', 'http:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `${name} must be an http(s) URL, e.g. ${example}`);

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const booleanVar = (name: string, fallback: boolean) =>
  optionalString.transform((v, ctx) => {
    if (v === undefined) return fallback;
    const b = ({ true: true, false: false, '1': true, '0': false, yes: true, no: false } as Record<string, boolean>)[v.toLowerCase()];
    if (b === undefined) {
      ctx.addIssue({ code: 'custom', message: `${name} must be true or false, got "${v}"` });
      return z.NEVER;
    }
    return b;
  });

/** 127.0.0.0/8, ::1 (also written as an IPv4-mapped address) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(h);
}

const envSchema = z.object({
  PORT: intInRange('PORT', 0, 65535, 5400),
  HOST: optionalString.transform((v) => v ?? '127.0.0.1'),
  DATABASE_URL: optionalString.refine(
    (v) => v === undefined || /^postgres(ql)?:\/\//.test(v),
    'DATABASE_URL must be a postgres:// or postgresql:// URL',
  ),
  DATA_DIR: optionalString.transform((v) => resolve(v ?? './data')),
  INVENTORY_TIMEZONE: optionalString.superRefine((v, ctx) => {
    if (v !== undefined && !isValidTimeZone(v)) {
      ctx.addIssue({ code: 'custom', message: `INVENTORY_TIMEZONE must be an IANA time zone name (e.g. America/Chicago), got "${v}"` });
    }
  }),
  LOG_LEVEL: optionalString.refine(
    (v) => v === undefined || (LOG_LEVELS as readonly string[]).includes(v),
    `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`,
  ),
  LOG_FORMAT: optionalString.superRefine((v, ctx) => {
    if (v !== undefined && !(LOG_FORMATS as readonly string[]).includes(v)) {
      ctx.addIssue({ code: 'custom', message: `LOG_FORMAT must be json or pretty (unset: readable on a terminal, JSON otherwise), got "${v}"` });
    }
  }),
  THREATLOCKER_API_BASE_URL: httpUrl('THREATLOCKER_API_BASE_URL', 'https://portalapi.g.threatlocker.com'),
  THREATLOCKER_API_KEY: optionalString,
  THREATLOCKER_ORGANIZATION_ID: optionalString.refine(
    (v) => v === undefined || isGuid(v),
    'THREATLOCKER_ORGANIZATION_ID must be a GUID',
  ),
  THREATLOCKER_TIMEOUT_MS: intInRange('THREATLOCKER_TIMEOUT_MS', 100, 600_000, 30_000),
  NINJA_BASE_URL: httpUrl('NINJA_BASE_URL', 'https://app.ninjarmm.com'),
  NINJA_CLIENT_ID: optionalString,
  NINJA_CLIENT_SECRET: optionalString,
  NINJA_REFRESH_TOKEN: optionalString,
  NINJA_TIMEOUT_MS: intInRange('NINJA_TIMEOUT_MS', 100, 600_000, 30_000),
  SYNC_DEADLINE_MS: intInRange('SYNC_DEADLINE_MS', 100, 600_000, 30_000),
  COLLECTOR_MAX_DROP_PERCENT: intInRange('COLLECTOR_MAX_DROP_PERCENT', 0, 100, 20),
  SNAPSHOT_RETENTION_DAYS: intInRange('SNAPSHOT_RETENTION_DAYS', 1, 36_500, 65),
  SCHEDULER_ENABLED: optionalString.transform((v, ctx) => {
    if (v === undefined) return true;
    const b = { true: true, false: false, '1': true, '0': false, yes: true, no: false }[v.toLowerCase()];
    if (b === undefined) {
      ctx.addIssue({ code: 'custom', message: `SCHEDULER_ENABLED must be true or false, got "${v}"` });
      return z.NEVER;
    }
    return b;
  }),
  THREATLOCKER_COLLECT_CRON: optionalString.transform((v) => v ?? '10 2 * * *'),
  NINJA_COLLECT_CRON: optionalString.transform((v) => v ?? '30 2 * * *'),
  RETENTION_CRON: optionalString.transform((v) => v ?? '15 3 * * *'),
  COLLECTOR_HEARTBEAT_SECONDS: intInRange('COLLECTOR_HEARTBEAT_SECONDS', 1, 3600, 5),
  COLLECTOR_STALE_SECONDS: intInRange('COLLECTOR_STALE_SECONDS', 10, 86_400, 120),
  VARIANCE_STALE_DAYS: intInRange('VARIANCE_STALE_DAYS', 1, 3650, 30),
  AUTH_MODE: optionalString.refine((v) => v === undefined || v === 'required' || v === 'open', 'AUTH_MODE must be required or open'),
  METRICS_OPEN: booleanVar('METRICS_OPEN', false),
  RATE_LIMIT_PER_MIN: intInRange('RATE_LIMIT_PER_MIN', 1, 1_000_000, 600),
  RATE_LIMIT_SYNC_PER_MIN: intInRange('RATE_LIMIT_SYNC_PER_MIN', 1, 1_000_000, 60),
  CORS_ORIGINS: optionalString.transform((v, ctx) => {
    const list = v === undefined ? [] : [...new Set(v.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
    for (const o of list) {
      let ok = false;
      try {
        const u = new URL(o);
        ok = ['http:', 'https:'].includes(u.protocol) && u.origin === o.replace(/\/$/, '');
      } catch {
        ok = false;
      }
      if (!ok) ctx.addIssue({ code: 'custom', message: `CORS_ORIGINS must list origins such as https://portal.example.com (scheme, host, port only), got "${o}"` });
    }
    return list.map((o) => o.replace(/\/$/, ''));
  }),
  TRUST_PROXY: optionalString.transform((v, ctx): boolean | number | string[] => {
    if (v === undefined || v.toLowerCase() === 'false') return false;
    if (v.toLowerCase() === 'true') return true;
    if (/^\d+$/.test(v)) return Number(v);
    const list = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (list.length === 0 || list.some((s) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(s) && !['loopback', 'linklocal', 'uniquelocal'].includes(s))) {
      ctx.addIssue({ code: 'custom', message: `TRUST_PROXY must be true, false, a hop count, or proxy addresses/CIDRs separated by commas, got "${v}"` });
      return z.NEVER;
    }
    return list;
  }),
  // Location names may hold spaces ("ES Spare"); commas separate them, blanks are dropped.
  VARIANCE_SPARE_ALLOWED_LOCATIONS: optionalString.transform((v) =>
    v === undefined ? [] : [...new Set(v.split(',').map((s) => s.trim()).filter((s) => s !== ''))],
  ),
});

/** Throws when `expression` is not a cron expression croner (the scheduler) accepts. */
function validateCron(expression: string, timeZone: string): void {
  new Cron(expression, { timezone: timeZone, paused: true }).stop();
}

function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/**
 * Builds the frozen configuration from an environment (default `process.env`).
 * Throws {@link ConfigError} listing every problem at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // Never echo secret values back; the variable name alone is enough to act on.
      const name = String(issue.path[0]);
      problems.push(/API_KEY|SECRET|TOKEN/.test(name) ? `${name} is invalid` : issue.message);
    }
  }
  // Cross-field rules look at the raw values so that they are reported alongside type errors.
  const has = (name: string) => (env[name] ?? '').trim() !== '';
  if (has('THREATLOCKER_API_KEY') && !has('THREATLOCKER_API_BASE_URL')) {
    problems.push('THREATLOCKER_API_BASE_URL is required when THREATLOCKER_API_KEY is set');
  }
  if (!has('THREATLOCKER_API_KEY') && (has('THREATLOCKER_API_BASE_URL') || has('THREATLOCKER_ORGANIZATION_ID'))) {
    problems.push(
      'THREATLOCKER_API_KEY is required when THREATLOCKER_API_BASE_URL or THREATLOCKER_ORGANIZATION_ID is set ' +
        '(leave every THREATLOCKER_* and NINJA_* variable unset to run the demo)',
    );
  }
  const ninjaVars = ['NINJA_BASE_URL', 'NINJA_CLIENT_ID', 'NINJA_CLIENT_SECRET'];
  if (ninjaVars.some(has) || has('NINJA_REFRESH_TOKEN')) {
    for (const name of ninjaVars) if (!has(name)) problems.push(`${name} is required when NinjaOne is configured (leave all NINJA_* unset for no NinjaOne)`);
  }
  if (parsed.success) {
    const d = parsed.data;
    for (const [name, expr] of [
      ['THREATLOCKER_COLLECT_CRON', d.THREATLOCKER_COLLECT_CRON],
      ['NINJA_COLLECT_CRON', d.NINJA_COLLECT_CRON],
      ['RETENTION_CRON', d.RETENTION_CRON],
    ] as const) {
      try {
        validateCron(expr, d.INVENTORY_TIMEZONE ?? systemTimeZone());
      } catch {
        problems.push(`${name} must be a cron expression such as "10 2 * * *", got "${expr}"`);
      }
    }
    // Off loopback the API must be protected, or left open on purpose (docs/operations.md).
    if (d.AUTH_MODE === undefined && !isLoopbackHost(d.HOST)) {
      problems.push(
        `HOST ${d.HOST} is not a loopback address: set AUTH_MODE=required (and create a key: inventory-hub keys create) ` +
          'or AUTH_MODE=open to leave the API open on purpose',
      );
    }
    if (d.COLLECTOR_STALE_SECONDS <= d.COLLECTOR_HEARTBEAT_SECONDS * 2) {
      problems.push('COLLECTOR_STALE_SECONDS must be more than twice COLLECTOR_HEARTBEAT_SECONDS');
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);

  const e = parsed.data;
  const threatlocker: ThreatLockerConfig | undefined =
    e.THREATLOCKER_API_KEY !== undefined && e.THREATLOCKER_API_BASE_URL !== undefined
      ? Object.freeze({
          baseUrl: e.THREATLOCKER_API_BASE_URL,
          apiKey: e.THREATLOCKER_API_KEY,
          organizationId: e.THREATLOCKER_ORGANIZATION_ID,
          timeoutMs: e.THREATLOCKER_TIMEOUT_MS,
        })
      : undefined;

  const ninja: NinjaConfig | undefined =
    e.NINJA_BASE_URL && e.NINJA_CLIENT_ID && e.NINJA_CLIENT_SECRET
      ? Object.freeze({
          baseUrl: e.NINJA_BASE_URL,
          clientId: e.NINJA_CLIENT_ID,
          clientSecret: e.NINJA_CLIENT_SECRET,
          refreshToken: e.NINJA_REFRESH_TOKEN,
          timeoutMs: e.NINJA_TIMEOUT_MS,
        })
      : undefined;

  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    timeZone: e.INVENTORY_TIMEZONE ?? systemTimeZone(),
    logLevel: (e.LOG_LEVEL ?? 'info') as Config['logLevel'],
    logFormat: e.LOG_FORMAT as Config['logFormat'],
    demo: threatlocker === undefined && ninja === undefined,
    threatlocker,
    threatlockerTimeoutMs: e.THREATLOCKER_TIMEOUT_MS,
    ninja,
    ninjaTimeoutMs: e.NINJA_TIMEOUT_MS,
    syncDeadlineMs: e.SYNC_DEADLINE_MS,
    collectors: Object.freeze({
      maxDropPercent: e.COLLECTOR_MAX_DROP_PERCENT,
      retentionDays: e.SNAPSHOT_RETENTION_DAYS,
      schedulerEnabled: e.SCHEDULER_ENABLED,
      cron: Object.freeze({ threatlocker: e.THREATLOCKER_COLLECT_CRON, ninja: e.NINJA_COLLECT_CRON, retention: e.RETENTION_CRON }),
      heartbeatMs: e.COLLECTOR_HEARTBEAT_SECONDS * 1000,
      staleAfterMs: e.COLLECTOR_STALE_SECONDS * 1000,
    }),
    variances: Object.freeze({
      staleDays: e.VARIANCE_STALE_DAYS,
      spareAllowedLocations: Object.freeze(e.VARIANCE_SPARE_ALLOWED_LOCATIONS),
    }),
    security: Object.freeze({
      // Unset AUTH_MODE is only possible on loopback (refused above otherwise): open.
      authMode: e.AUTH_MODE === 'required' ? 'required' : 'open',
      authModeExplicit: e.AUTH_MODE !== undefined,
      loopback: isLoopbackHost(e.HOST),
      metricsOpen: e.METRICS_OPEN,
      rateLimitPerMin: e.RATE_LIMIT_PER_MIN,
      rateLimitSyncPerMin: e.RATE_LIMIT_SYNC_PER_MIN,
      corsOrigins: Object.freeze(e.CORS_ORIGINS),
      trustProxy: Array.isArray(e.TRUST_PROXY) ? Object.freeze(e.TRUST_PROXY) : e.TRUST_PROXY,
    }),
  });
}
