/**
 * Personal data as a role may see it: admins and operators see identifiers and names as they are;
 * everyone else sees them masked (a phone keeps its first three and last four digits, as platforms
 * print them).
 */
import type { Role } from '../workspaces/workspaces.ts';

export function seesPersonalData(role: Role): boolean {
  return role === 'admin' || role === 'operator';
}

export function maskIdentifier(type: string, value: string): string {
  if (type === 'phone') {
    const digits = value.replace(/^\+86/, '');
    return `${value.startsWith('+86') ? '+86' : ''}${digits.slice(0, 3)}****${digits.slice(-4)}`;
  }
  if (type === 'email') {
    const [user, domain] = value.split('@');
    return `${user.slice(0, 1)}***@${domain ?? ''}`;
  }
  return value.length > 6 ? `${value.slice(0, 2)}***${value.slice(-2)}` : '***';
}

export function maskName(name: string): string {
  return name ? `${[...name][0]}${'*'.repeat(Math.max(1, [...name].length - 1))}` : '';
}
