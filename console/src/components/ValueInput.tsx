/**
 * A text input whose value is parsed as typed (a number, a list): the text is kept as the user
 * types it ("1." or "a, "), and replaced only when the value changes from elsewhere.
 */
import { useEffect, useState, type InputHTMLAttributes } from 'react';
import { textOf } from '../values.ts';

type Props<V> = { value: V; parse: (text: string) => V; onValue: (value: V) => void } & Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange'>;

export function ValueInput<V>({ value, parse, onValue, ...rest }: Props<V>) {
  const [text, setText] = useState(() => textOf(value));
  useEffect(() => {
    setText((current) => (JSON.stringify(parse(current)) === JSON.stringify(value) ? current : textOf(value)));
    // parse is a new function on every render; the value alone decides.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [JSON.stringify(value)]);
  return (
    <input
      {...rest}
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        onValue(parse(e.target.value));
      }}
    />
  );
}
