package rdfx

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/piprate/json-gold/ld"
)

// nodeMap is the Node Map Generation algorithm of JSON-LD 1.1 API §7.3
// over expanded JSON-LD, in the shape json-gold's GraphToRDF reads: graph
// name -> node @id -> node, a node mapping "@id" to its identifier, "@type"
// to a []any of IRIs, and each property to a []any of values.
//
// It differs from the algorithm as written, and from json-gold's
// GenerateNodeMap, in one way: it does not look for a value among the
// values a property holds already before adding it ("add value ... unless
// it is already there"). That search makes the algorithm quadratic in the
// number of values of one property, and rdfx needs no duplicate-free node
// map: each value becomes a triple, and a Graph is a set.
type nodeMap struct {
	graphs map[string]map[string]any
	issuer *ld.IdentifierIssuer
	b      *budget
}

// add runs the algorithm on element. subject is the active subject: nil, a
// node @id (string), or for a reverse property the node that refers to
// element (map). list, when not nil, is the list object that element's
// values go to.
func (m *nodeMap) add(element any, graphName string, subject any, property string, list map[string]any) error {
	m.b.tick()
	if items, ok := element.([]any); ok { // step 1
		for _, item := range items {
			if err := m.add(item, graphName, subject, property, list); err != nil {
				return err
			}
		}
		return nil
	}
	elem, ok := element.(map[string]any)
	if !ok {
		return fmt.Errorf("unexpected %T in expanded JSON-LD", element)
	}
	graph := m.graphs[graphName] // step 2
	if graph == nil {
		graph = make(map[string]any)
		m.graphs[graphName] = graph
	}
	var subjectNode map[string]any
	if id, ok := subject.(string); ok && id != "" {
		subjectNode, _ = graph[id].(map[string]any)
	}
	if t, ok := elem["@type"]; ok { // step 3: relabel blank node types
		types := ld.Arrayify(t)
		relabelled := make([]any, len(types))
		for i, t := range types {
			s, _ := t.(string)
			if strings.HasPrefix(s, "_:") {
				s = m.issuer.GetId(s)
			}
			relabelled[i] = s
		}
		if _, isValue := elem["@value"]; isValue {
			if len(relabelled) > 0 {
				elem["@type"] = relabelled[0]
			}
		} else {
			elem["@type"] = relabelled
		}
	}
	_, isValue := elem["@value"]
	lv, isList := elem["@list"]
	switch {
	case isValue: // step 4
		m.addValue(subjectNode, property, list, elem)
		return nil
	case isList: // step 5
		result := map[string]any{"@list": []any{}}
		if err := m.add(lv, graphName, subject, property, result); err != nil {
			return err
		}
		m.addValue(subjectNode, property, list, result)
		return nil
	}

	// Step 6: a node object.
	var id string
	switch v := elem["@id"].(type) {
	case nil:
		id = m.issuer.GetId("")
	case string:
		id = v
		if strings.HasPrefix(id, "_:") {
			id = m.issuer.GetId(id)
		}
	default:
		return fmt.Errorf("@id is a %T", v)
	}
	node, _ := graph[id].(map[string]any)
	if node == nil {
		node = map[string]any{"@id": id}
		graph[id] = node
	}
	if ref, ok := subject.(map[string]any); ok { // reverse property
		appendValue(node, property, ref)
	} else if property != "" {
		m.addValue(subjectNode, property, list, map[string]any{"@id": id})
	}
	if t, ok := elem["@type"]; ok {
		for _, t := range ld.Arrayify(t) {
			appendValue(node, "@type", t)
		}
	}
	if idx, ok := elem["@index"]; ok {
		if have, ok := node["@index"]; ok && have != idx {
			return fmt.Errorf("conflicting @index values for %s", id)
		}
		node["@index"] = idx
	}
	if rev, ok := elem["@reverse"].(map[string]any); ok {
		referenced := map[string]any{"@id": id}
		for _, rp := range slices.Sorted(maps.Keys(rev)) {
			for _, v := range ld.Arrayify(rev[rp]) {
				if err := m.add(v, graphName, referenced, rp, nil); err != nil {
					return err
				}
			}
		}
	}
	if g, ok := elem["@graph"]; ok {
		if err := m.add(g, id, nil, "", nil); err != nil {
			return err
		}
	}
	if inc, ok := elem["@included"]; ok {
		if err := m.add(inc, graphName, nil, "", nil); err != nil {
			return err
		}
	}
	for _, p := range slices.Sorted(maps.Keys(elem)) {
		switch p {
		case "@id", "@type", "@index", "@reverse", "@graph", "@included":
			continue
		}
		value := elem[p]
		if strings.HasPrefix(p, "_:") {
			p = m.issuer.GetId(p)
		}
		if _, ok := node[p]; !ok {
			node[p] = []any{}
		}
		if err := m.add(value, graphName, id, p, nil); err != nil {
			return err
		}
	}
	return nil
}

// addValue adds v to the property of the subject node, or to the list
// when there is one.
func (m *nodeMap) addValue(subjectNode map[string]any, property string, list map[string]any, v any) {
	if list != nil {
		list["@list"] = append(list["@list"].([]any), v)
		return
	}
	if subjectNode != nil && property != "" {
		appendValue(subjectNode, property, v)
	}
}

// appendValue appends v to node[property], duplicates included.
func appendValue(node map[string]any, property string, v any) {
	vs, _ := node[property].([]any)
	node[property] = append(vs, v)
}
