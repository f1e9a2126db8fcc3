// The page's script: it talks to the JSON API with fetch().
// Names are inserted with textContent, never innerHTML, so a plant called
// "<img src=x onerror=alert(1)>" shows as those characters and runs nothing.

const list = document.getElementById("plants");
const empty = document.getElementById("empty");
const status = document.getElementById("status");
const form = document.getElementById("new-plant");
const input = document.getElementById("plant-name");

function say(text) {
  status.textContent = text;
}

function render(plants) {
  list.replaceChildren();
  for (const plant of plants) {
    const item = document.createElement("li");
    item.dataset.id = plant.id;
    const label = document.createElement("span");
    const id = document.createElement("span");
    id.className = "id";
    id.textContent = `#${plant.id}`;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = plant.name;
    label.append(id, name);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove ${plant.name}`);
    remove.addEventListener("click", () => removePlant(plant.id));
    item.append(label, remove);
    list.append(item);
  }
  empty.hidden = plants.length > 0;
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const requestId = response.headers.get("x-request-id");
  if (!response.ok) {
    const error = await response.json().catch(() => ({ error: response.statusText }));
    throw new Error(`${response.status}: ${error.error} (request ${requestId})`);
  }
  say(`${method} ${path}: ${response.status} (request ${requestId})`);
  return response.status === 204 ? null : response.json();
}

// The API sends the list a page at a time; a `Link: <...>; rel="next"`
// header says there is more. This page shows the first page of 100 (the
// largest the API gives) and says so when there are more.
const PAGE = "/api/plants?limit=100";

async function refresh() {
  try {
    const response = await fetch(PAGE);
    if (!response.ok) {
      throw new Error(`GET ${PAGE}: ${response.status}`);
    }
    const plants = await response.json();
    render(plants);
    if (response.headers.get("link")) {
      say(`Showing the first ${plants.length} plants; there are more.`);
    }
  } catch (error) {
    say(error.message);
  }
}

async function removePlant(id) {
  try {
    await api("DELETE", `/api/plants/${id}`);
  } catch (error) {
    say(error.message);
  }
  await refresh();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("POST", "/api/plants", { name: input.value });
    input.value = "";
  } catch (error) {
    say(error.message);
  }
  await refresh();
});

refresh();
