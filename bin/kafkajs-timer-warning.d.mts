export function dropKafkajsNegativeTimeoutWarning(): void;
