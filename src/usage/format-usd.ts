/** An amount in USD as people read it: `$10.00`, `$0.0042` (cents at least, up to 8 decimals). */
export function formatUsd(amount: number): string {
  const [whole, fraction = ''] = amount.toFixed(8).replace(/0+$/, '').split('.');
  return `$${whole}.${fraction.padEnd(2, '0')}`;
}
