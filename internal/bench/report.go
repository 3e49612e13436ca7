package bench

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image/color"
	"io"
	"math"
	"sort"

	"github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// WriteReport writes a self-contained HTML report: the table and three
// plots (latency distribution, throughput over time, propagation), as
// inline SVG images. It loads nothing from anywhere: it opens offline.
func (r *Result) WriteReport(w io.Writer) error {
	var table bytes.Buffer
	r.WriteTable(&table)
	var figs []figure
	lat := map[string]*hdrhistogram.Histogram{"start": r.Start.Latency}
	if r.Revoke != nil {
		lat["revoke"] = r.Revoke.Latency
	}
	if r.Yardstick != nil {
		lat["yardstick INSERT"] = r.Yardstick.Phase.Latency
	}
	for _, spec := range []struct {
		title, alt string
		make       func() (*plot.Plot, error)
	}{
		{"Latency distribution", "Request latency by percentile for each phase", func() (*plot.Plot, error) {
			return percentilePlot("Latency by percentile", lat)
		}},
		{"Throughput over time", "Completed operations in each second of each phase", r.throughputPlot},
		{"Propagation", "Time from sending the DELETE to each verifier applying the revocation, by percentile", func() (*plot.Plot, error) {
			if r.Propagation == nil {
				return nil, nil
			}
			return percentilePlot("Propagation to verifiers by percentile", map[string]*hdrhistogram.Histogram{"DELETE sent → Check = ErrRevoked": r.Propagation})
		}},
	} {
		p, err := spec.make()
		if err != nil {
			return err
		}
		if p == nil {
			continue
		}
		svg, err := render(p)
		if err != nil {
			return err
		}
		figs = append(figs, figure{Title: spec.title, Alt: spec.alt,
			Src: template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(svg))})
	}
	return reportPage.Execute(w, struct {
		Title   string
		Started string
		Table   string
		Figures []figure
	}{"sessiond bench", r.Started.Format("2006-01-02 15:04:05 UTC"), table.String(), figs})
}

type figure struct {
	Title, Alt string
	Src        template.URL
}

func render(p *plot.Plot) ([]byte, error) {
	wt, err := p.WriterTo(20*vg.Centimeter, 11*vg.Centimeter, "svg")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// percentilePlot draws latency against percentile on the usual HDR axis:
// x = log10(1/(1-p)), so 90 %, 99 %, 99.9 % … are evenly spaced.
func percentilePlot(title string, hs map[string]*hdrhistogram.Histogram) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms)"
	p.X.Tick.Marker = plot.ConstantTicks([]plot.Tick{
		{Value: 0, Label: "0%"}, {Value: 1, Label: "90%"}, {Value: 2, Label: "99%"},
		{Value: 3, Label: "99.9%"}, {Value: 4, Label: "99.99%"}, {Value: 5, Label: "99.999%"},
	})
	for _, name := range sortedKeys(hs) {
		h := hs[name]
		if h == nil || h.TotalCount() == 0 {
			continue
		}
		var pts plotter.XYs
		for _, b := range h.CumulativeDistribution() {
			q := b.Quantile / 100
			if q >= 1 {
				q = 1 - 1/float64(h.TotalCount()+1)
			}
			pts = append(pts, plotter.XY{X: math.Log10(1 / (1 - q)), Y: float64(b.ValueAt) / 1000})
		}
		if err := addLine(p, name, pts, false); err != nil {
			return nil, err
		}
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p, nil
}

func (r *Result) throughputPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Throughput over time"
	p.X.Label.Text = "second of the phase"
	p.Y.Label.Text = "operations completed"
	phases := []*Phase{r.Start, r.Revoke}
	if r.Yardstick != nil {
		phases = append(phases, r.Yardstick.Phase)
	}
	for _, ph := range phases {
		if ph == nil || len(ph.PerSecond) == 0 {
			continue
		}
		pts := make(plotter.XYs, len(ph.PerSecond))
		for i, n := range ph.PerSecond {
			pts[i] = plotter.XY{X: float64(i), Y: float64(n)}
		}
		if err := addLine(p, label(ph.Name), pts, true); err != nil {
			return nil, err
		}
	}
	p.Y.Min = 0
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p, nil
}

// Each series keeps its colour in every plot.
var colours = map[string]color.Color{
	"start":                            color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"revoke":                           color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	"yardstick INSERT":                 color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	"DELETE sent → Check = ErrRevoked": color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

func label(phase string) string {
	if phase == "yardstick" {
		return "yardstick INSERT"
	}
	return phase
}

func addLine(p *plot.Plot, name string, pts plotter.XYs, points bool) error {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color = colours[name]
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add(name, l)
	if points {
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		s.Color = colours[name]
		p.Add(s)
	}
	return nil
}

func sortedKeys(m map[string]*hdrhistogram.Histogram) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var reportPage = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #111; }
pre { background: #f4f4f4; padding: 1rem; overflow-x: auto; }
figure { margin: 2rem 0; }
img { width: 100%; height: auto; border: 1px solid #ddd; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Run started {{.Started}}.</p>
<h2>Figures</h2>
<pre>{{.Table}}</pre>
{{range .Figures}}<figure>
<h2>{{.Title}}</h2>
<img src="{{.Src}}" alt="{{.Alt}}">
<figcaption>{{.Alt}}.</figcaption>
</figure>
{{end}}</body>
</html>
`))
