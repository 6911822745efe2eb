import { useEffect } from 'preact/hooks';
import {
  DraftInput,
  EventNamesList,
  Field,
  markFirstData,
  type QueryState,
  useApi,
  useQuery,
} from './components.tsx';
import { setParams } from './route.ts';

/**
 * Runs one insight query: POSTs `request` to `path` whenever it changes (null: not ready to ask yet) and
 * marks the first data for the first-screen benchmark.
 */
export function useInsight<T>(path: string, request: object | null): QueryState<T> {
  const api = useApi();
  const state = useQuery(request === null ? null : JSON.stringify(request), (signal) =>
    api.post<T>(path, request, signal),
  );
  useEffect(() => {
    if (state.data !== undefined) markFirstData();
  }, [state.data]);
  return state;
}

/** A value and its label; a bare string is both. */
export type SelectOption = string | readonly [value: string | number, label: string];

/** A labelled <select> bound to one URL parameter; `also` resets parameters that depend on it. */
export function SelectParam(props: {
  label: string;
  param: string;
  value: string | number;
  options: readonly SelectOption[];
  also?: Record<string, string | undefined>;
}) {
  return (
    <Field label={props.label}>
      {(id) => (
        <select
          id={id}
          value={String(props.value)}
          onChange={(e) => setParams({ [props.param]: e.currentTarget.value, ...props.also }, 'push')}
        >
          {props.options.map((option) => {
            const [value, label] = typeof option === 'string' ? [option, option] : option;
            return (
              <option key={value} value={String(value)}>
                {label}
              </option>
            );
          })}
        </select>
      )}
    </Field>
  );
}

/**
 * A labelled text input bound to one URL parameter, committed on change. With `eventList`, it suggests
 * the event names seen recently (the list's id must be unique on the page).
 */
export function TextParam(props: {
  label: string;
  param: string;
  value: string;
  eventList?: string;
  placeholder?: string;
}) {
  return (
    <Field label={props.label}>
      {(id) => (
        <>
          <DraftInput
            id={id}
            list={props.eventList}
            value={props.value}
            {...(props.placeholder === undefined ? {} : { placeholder: props.placeholder })}
            onCommit={(value) => setParams({ [props.param]: value }, 'push')}
          />
          {props.eventList !== undefined && <EventNamesList id={props.eventList} />}
        </>
      )}
    </Field>
  );
}
