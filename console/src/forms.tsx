/** Labelled inputs and the alert a refused form shows: every control has a visible label. */
import type { ComponentChildren } from 'preact';

interface FieldProps {
  label: string;
  value: string;
  onInput: (value: string) => void;
  type?: string;
  autocomplete?: string;
  inputMode?: 'numeric' | 'text' | 'email';
  required?: boolean;
}

export function Field({ label, value, onInput, type = 'text', autocomplete, inputMode, required = true }: FieldProps) {
  return (
    <label class="field">
      <span>{label}</span>
      <input
        type={type}
        value={value}
        autocomplete={autocomplete}
        inputMode={inputMode}
        required={required}
        onInput={(event) => onInput((event.currentTarget as HTMLInputElement).value)}
      />
    </label>
  );
}

export function Alert({ children }: { children: ComponentChildren }) {
  return children ? <p role="alert" class="alert">{children}</p> : null;
}

export function Card({ children }: { children: ComponentChildren }) {
  return <main class="card-page"><div class="card">{children}</div></main>;
}
