/** Shortest password accepted for a user (the bootstrap admin included). */
export const MIN_PASSWORD_LENGTH = 12;

/** Defaults and favourites that attackers try first; refused whatever their length. */
const WELL_KNOWN = new Set([
  'admin',
  'administrator',
  'password',
  'password1',
  'password123',
  'passw0rd',
  'changeme',
  'changeit',
  'secret',
  'letmein',
  'welcome',
  'qwerty',
  'qwertyuiop',
  '123456',
  '12345678',
  '123456789',
  '1234567890',
  '123456789012',
  'opamp',
  'opampcommander',
  'opamp-commander',
  'adminadmin',
  'adminadminadmin',
  'administrator1',
  'changemeplease',
  'passwordpassword',
]);

/**
 * Why a password is not acceptable, or undefined when it is: too short, too long, well known,
 * one repeated character, or the user name with digits and signs added.
 */
export function passwordProblem(password: string, username?: string): string | undefined {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > 1024) return 'must be at most 1024 characters';
  if (WELL_KNOWN.has(password.toLowerCase()) || /^(.)\1*$/.test(password)) return 'is a well-known or trivial password';
  const letters = (text: string) => text.toLowerCase().replace(/[^a-z]/g, '');
  if (username && letters(username) !== '' && letters(password) === letters(username)) return 'must not be the user name';
  return undefined;
}
