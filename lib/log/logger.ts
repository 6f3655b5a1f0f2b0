/**
 * JSON logging (winston). Logs never carry PII or secrets: callers pass identifiers that are
 * already hashed or redacted (see lib/log/redact.ts), never raw SIP headers or bodies.
 */
import winston from 'winston';

export type Logger = winston.Logger;

let root: winston.Logger | undefined;

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): winston.Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'council-gateway' },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug', 'verbose', 'silly'] })],
  });
}

/** The process logger; tests set LOG_LEVEL=silent (or error) to keep output readable. */
export function logger(): winston.Logger {
  if (!root) root = createLogger();
  return root;
}

/** Child logger for one component, e.g. logger('ras'). */
export function componentLogger(component: string): winston.Logger {
  return logger().child({ component });
}
