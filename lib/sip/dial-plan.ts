/** Picks where an admitted call goes: the longest matching Request-URI user prefix wins. */
import type { DialPlanRoute } from '../config/gateway-config.js';

export interface RouteMatch {
  route: DialPlanRoute;
  target: string;
}

export function matchRoute(routes: readonly DialPlanRoute[], user: string): RouteMatch | undefined {
  let best: DialPlanRoute | undefined;
  for (const r of routes) {
    if (user.startsWith(r.prefix) && (!best || r.prefix.length > best.prefix.length)) best = r;
  }
  if (!best) return undefined;
  // Only a dial-string-safe user is substituted into the target URI (no header injection).
  const safeUser = /^[0-9A-Za-z+*#._-]+$/.test(user) ? user : '';
  return { route: best, target: best.sipTarget.replace('${user}', safeUser) };
}

/** The user part of a SIP/SIPS/TEL Request-URI, '' when there is none. */
export function requestUser(uri: string): string {
  const u = uri.trim();
  // sip:host has no user; tel: numbers never carry '@'.
  const m = /^tel:/i.test(u) ? /^tel:([^;?]*)/i.exec(u) : /^sips?:([^@;?]*)@/i.exec(u);
  if (!m) return '';
  try {
    return decodeURIComponent(m[1] ?? '');
  } catch {
    return m[1] ?? '';
  }
}
