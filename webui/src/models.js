// The model picker and the Models panel: installed (/api/tags), loaded (/api/ps), pull, delete.
import {deleteModel, listModels, listRunning, pullModel} from './api.js';

const $ = (id) => document.getElementById(id);

export function formatBytes(n) {
  if (!Number.isFinite(n) || n <= 0) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1000)));
  return `${(n / 1000 ** i).toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function modelLabel(m) {
  const q = m.details?.quantization_level;
  const p = m.details?.parameter_size;
  return [m.name, formatBytes(m.size), p, q].filter(Boolean).join(' · ');
}

export class ModelsPanel {
  // onError(message) shows a banner; onChange() runs after the installed list changed.
  constructor({onError, onChange}) {
    this.onError = onError;
    this.onChange = onChange;
    this.models = [];
    $('pull-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.pull($('pull-name').value.trim());
    });
    $('refresh-models').addEventListener('click', () => this.refresh());
    $('models-panel').addEventListener('toggle', () => {
      if ($('models-panel').open) this.refreshRunning();
    });
  }

  async refresh() {
    this.models = await listModels();
    const ul = $('model-list');
    ul.replaceChildren();
    if (this.models.length === 0) ul.append(item('No models in the server\'s models folder.'));
    for (const m of this.models) {
      const li = item(modelLabel(m));
      const del = document.createElement('button');
      del.type = 'button';
      del.textContent = 'Delete';
      del.setAttribute('aria-label', `Delete model ${m.name}`);
      del.addEventListener('click', () => this.remove(m.name));
      li.append(del);
      ul.append(li);
    }
    await this.refreshRunning();
    this.onChange?.(this.models);
    return this.models;
  }

  async refreshRunning() {
    const ul = $('ps-list');
    try {
      const running = await listRunning();
      ul.replaceChildren();
      if (running.length === 0) ul.append(item('No model is loaded.'));
      for (const m of running) {
        const until = m.expires_at?.startsWith('2318') ? 'kept loaded' : `until ${new Date(m.expires_at).toLocaleTimeString()}`;
        ul.append(item(`${m.name} · ${formatBytes(m.size)} memory · ctx ${m.context_length ?? '?'} · ${until}`));
      }
    } catch (e) {
      this.onError(e.message);
    }
  }

  async remove(name) {
    if (!confirm(`Delete the model ${name} from the server's disk?`)) return;
    try {
      await deleteModel(name);
      await this.refresh();
    } catch (e) {
      this.onError(`Deleting ${name} failed: ${e.message}`);
    }
  }

  async pull(name) {
    if (!name) return;
    const bar = $('pull-progress');
    const status = $('pull-status');
    $('pull-button').disabled = true;
    bar.hidden = false;
    bar.removeAttribute('value');  // indeterminate until sizes arrive
    status.textContent = `Pulling ${name}…`;
    try {
      await pullModel(name, (p) => {
        if (p.total > 0) {
          bar.max = p.total;
          bar.value = p.completed ?? 0;
          status.textContent = `${p.status ?? ''} ${formatBytes(p.completed ?? 0)} / ${formatBytes(p.total)}`;
        } else {
          status.textContent = p.status ?? '';
        }
      });
      status.textContent = `Pulled ${name}.`;
      await this.refresh();
    } catch (e) {
      status.textContent = `Pull failed: ${e.message}`;
    } finally {
      bar.hidden = true;
      $('pull-button').disabled = false;
    }
  }
}

function item(text) {
  const li = document.createElement('li');
  const span = document.createElement('span');
  span.textContent = text;
  li.append(span);
  return li;
}
