// Shared by the client scripts: the LRS to talk to comes from the
// environment, one scenario runs per process, and its result is printed as
// one JSON object on stdout for tests/test_clients_js.py to assert on.

import { randomUUID } from "node:crypto";

export const env = {
  endpoint: required("LRS_ENDPOINT"),
  key: required("LRS_KEY"),
  secret: required("LRS_SECRET"),
  otherKey: process.env.LRS_OTHER_KEY,
  otherSecret: process.env.LRS_OTHER_SECRET,
  version: process.env.LRS_VERSION,
};

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

export const uuid = () => randomUUID();

export const learner = (name = "ana") => ({
  objectType: "Agent",
  name: name[0].toUpperCase() + name.slice(1),
  mbox: `mailto:${name}-${uuid().slice(0, 8)}@agency.example`,
});

export const courseId = (slug = "induction") => `https://courses.example/${slug}/${uuid().slice(0, 8)}`;

// A course with a definition, for the Activities resource scenarios.
export const describedCourse = () => ({
  objectType: "Activity",
  id: courseId(),
  definition: {
    name: { "en-US": "Induction", "fr-FR": "Accueil" },
    description: { "en-US": "The first day" },
    type: "http://adlnet.gov/expapi/activities/course",
  },
});

export const COMPLETED = "http://adlnet.gov/expapi/verbs/completed";
export const ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted";

// Runs scenarios[process.argv[2]] and prints what it returns.
export async function main(scenarios) {
  const name = process.argv[2];
  const scenario = scenarios[name];
  if (!scenario) {
    console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(", ")}`);
    process.exit(2);
  }
  try {
    process.stdout.write(JSON.stringify(await scenario()) + "\n");
  } catch (error) {
    console.error(error && error.stack ? error.stack : error);
    if (error && error.response) {
      console.error("HTTP", error.response.status, JSON.stringify(error.response.data));
    }
    process.exit(1);
  }
}
