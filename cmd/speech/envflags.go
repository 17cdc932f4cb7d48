package main

// orEnv returns v, a flag's value, or when it is empty the environment
// variable name: flags win over the environment.
func (e *env) orEnv(v, name string) string {
	if v != "" {
		return v
	}
	return e.getenv(name)
}
