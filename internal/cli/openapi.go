package cli

import (
	"context"
	"encoding/json"
	"flag"

	"github.com/ghevents/ghevents/internal/api"
)

func openapiCommand() command {
	return command{name: "openapi", summary: "Print the API's OpenAPI document (no database needed), e.g. to generate a client.",
		flags: func(fs *flag.FlagSet) func(context.Context, *app, []string) error {
			spec := fs.String("spec", "3.1", "OpenAPI version: 3.1 or 3.0 (3.0.3, for generators that only read 3.0)")
			format := fs.String("format", "json", "json or yaml")
			return func(_ context.Context, a *app, args []string) error {
				if len(args) > 0 {
					return usagef("takes no arguments, got %q", args)
				}
				doc := api.OpenAPI(Version)
				var out []byte
				var err error
				switch *spec + "/" + *format {
				case "3.1/json":
					out, err = json.MarshalIndent(doc, "", "  ")
				case "3.1/yaml":
					out, err = doc.YAML()
				case "3.0/json":
					if out, err = doc.Downgrade(); err == nil {
						var v any
						if err = json.Unmarshal(out, &v); err == nil {
							out, err = json.MarshalIndent(v, "", "  ")
						}
					}
				case "3.0/yaml":
					out, err = doc.DowngradeYAML()
				default:
					return usagef("--spec must be 3.1 or 3.0 and --format json or yaml, got %s and %s", *spec, *format)
				}
				if err != nil {
					return err
				}
				if len(out) > 0 && out[len(out)-1] != '\n' {
					out = append(out, '\n')
				}
				_, err = a.stdout.Write(out)
				return err
			}
		}}
}
